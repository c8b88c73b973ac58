// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Guarded
/// @notice The emergency surface shared by the reference protocol's contracts.
///
/// Two roles split the powers the way a security council and its governance usually do:
///   - GUARDIAN_ROLE (the guardian Safe) acts instantly but can only restrict: pause and
///     freeze. Its pause power expires at `pauseWindowEnd` (the Balancer lesson: an
///     emergency brake nobody can hold forever).
///   - GOVERNOR_ROLE (the TimelockController) relaxes restrictions and changes risk
///     parameters, always behind the timelock delay: unpause, unfreeze, setters.
/// Every setter checks on-chain bounds and reverts with `ParameterOutOfBounds`.
abstract contract Guarded is AccessControl, Pausable {
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    /// Longest pause window the governor may set, counted from now.
    uint256 public constant MAX_PAUSE_WINDOW = 365 days;

    /// Unix time after which guardians can no longer pause.
    uint256 public pauseWindowEnd;

    mapping(address account => bool) private _frozenAccounts;

    error ParameterOutOfBounds(bytes32 parameter, uint256 value, uint256 min, uint256 max);
    error AccountFrozen(address account);
    error PauseWindowExpired(uint256 pauseWindowEnd);

    event AccountFreezeSet(address indexed account, bool frozen);
    event ParameterUpdated(bytes32 indexed parameter, uint256 oldValue, uint256 newValue);

    /// @param admin receives DEFAULT_ADMIN_ROLE (the deployer, who wires the roles and then
    ///        hands the admin role to the timelock and renounces it).
    /// @param pauseWindow seconds from deployment during which guardians may pause.
    constructor(address admin, uint256 pauseWindow) {
        _checkBounds("pauseWindow", pauseWindow, 1 days, MAX_PAUSE_WINDOW);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        pauseWindowEnd = block.timestamp + pauseWindow;
    }

    modifier notFrozen(address account) {
        if (_frozenAccounts[account]) revert AccountFrozen(account);
        _;
    }

    // ---- guardian: instant, restrictive -------------------------------------------------

    function pause() external onlyRole(GUARDIAN_ROLE) {
        if (block.timestamp > pauseWindowEnd) revert PauseWindowExpired(pauseWindowEnd);
        _pause();
    }

    function freezeAccount(address account) external onlyRole(GUARDIAN_ROLE) {
        _frozenAccounts[account] = true;
        emit AccountFreezeSet(account, true);
    }

    // ---- governor: behind the timelock, permissive ----------------------------------------

    function unpause() external onlyRole(GOVERNOR_ROLE) {
        _unpause();
    }

    function unfreezeAccount(address account) external onlyRole(GOVERNOR_ROLE) {
        _frozenAccounts[account] = false;
        emit AccountFreezeSet(account, false);
    }

    /// Move the end of the guardians' pause window later (never earlier, at most a year out).
    function extendPauseWindow(uint256 newEnd) external onlyRole(GOVERNOR_ROLE) {
        _checkBounds("pauseWindowEnd", newEnd, pauseWindowEnd + 1, block.timestamp + MAX_PAUSE_WINDOW);
        emit ParameterUpdated("pauseWindowEnd", pauseWindowEnd, newEnd);
        pauseWindowEnd = newEnd;
    }

    // ---- views ---------------------------------------------------------------------------

    function isFrozen(address account) public view returns (bool) {
        return _frozenAccounts[account];
    }

    // ---- helpers -------------------------------------------------------------------------

    function _checkBounds(bytes32 parameter, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(parameter, value, min, max);
    }
}
