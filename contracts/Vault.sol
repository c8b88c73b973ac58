// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Guarded} from "./Guarded.sol";

/// @title Vault
/// @notice Collateral vault of the reference derivatives venue. Traders deposit and withdraw
/// collateral; OPERATOR_ROLE holders (the PerpMarket, and a settlement keeper) move
/// margin and profit in and out of trader balances.
///
/// Emergency surface (see Guarded): the guardian pauses and freezes accounts instantly; the
/// governor unpauses, unfreezes and sets the per-transaction withdrawal cap within bounds.
contract Vault is Guarded {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// Bounds of the per-transaction withdrawal cap, in collateral units (6 decimals).
    uint256 public constant MIN_WITHDRAWAL_CAP = 1_000e6;
    uint256 public constant MAX_WITHDRAWAL_CAP = 10_000_000e6;

    IERC20 public immutable collateral;
    uint256 public withdrawalCap;
    uint256 public totalDeposits;
    mapping(address account => uint256) public balanceOf;

    error WithdrawalCapExceeded(uint256 amount, uint256 cap);
    error InsufficientBalance(address account, uint256 balance, uint256 amount);

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Credited(address indexed account, uint256 amount, address indexed operator);
    event Debited(address indexed account, uint256 amount, address indexed operator);

    constructor(address admin, IERC20 collateral_, uint256 withdrawalCap_, uint256 pauseWindow)
        Guarded(admin, pauseWindow)
    {
        _checkBounds("withdrawalCap", withdrawalCap_, MIN_WITHDRAWAL_CAP, MAX_WITHDRAWAL_CAP);
        collateral = collateral_;
        withdrawalCap = withdrawalCap_;
    }

    // ---- traders -------------------------------------------------------------------------

    function deposit(uint256 amount) external whenNotPaused notFrozen(msg.sender) {
        balanceOf[msg.sender] += amount;
        totalDeposits += amount;
        collateral.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, amount);
    }

    function withdraw(uint256 amount) external whenNotPaused notFrozen(msg.sender) {
        if (amount > withdrawalCap) revert WithdrawalCapExceeded(amount, withdrawalCap);
        uint256 balance = balanceOf[msg.sender];
        if (amount > balance) revert InsufficientBalance(msg.sender, balance, amount);
        balanceOf[msg.sender] = balance - amount;
        totalDeposits -= amount;
        collateral.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---- operators (margin engine, settlement keeper) -------------------------------------

    /// Credit margin returned or profit realised to `account`.
    function credit(address account, uint256 amount)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        notFrozen(account)
    {
        balanceOf[account] += amount;
        totalDeposits += amount;
        emit Credited(account, amount, msg.sender);
    }

    /// Debit margin locked or a loss realised from `account`.
    function debit(address account, uint256 amount)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        notFrozen(account)
    {
        uint256 balance = balanceOf[account];
        if (amount > balance) revert InsufficientBalance(account, balance, amount);
        balanceOf[account] = balance - amount;
        totalDeposits -= amount;
        emit Debited(account, amount, msg.sender);
    }

    // ---- governor --------------------------------------------------------------------------

    function setWithdrawalCap(uint256 newCap) external onlyRole(GOVERNOR_ROLE) {
        _checkBounds("withdrawalCap", newCap, MIN_WITHDRAWAL_CAP, MAX_WITHDRAWAL_CAP);
        emit ParameterUpdated("withdrawalCap", withdrawalCap, newCap);
        withdrawalCap = newCap;
    }
}
