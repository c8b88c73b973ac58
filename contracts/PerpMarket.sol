// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Guarded} from "./Guarded.sol";
import {Vault} from "./Vault.sol";
import {PriceOracle} from "./PriceOracle.sol";

/// @title PerpMarket
/// @notice A minimal perpetual-futures margin engine on top of the Vault: a trader locks
/// margin from their vault balance and opens a long or short of `margin * leverage` notional
/// at the oracle price; closing realises the profit or loss back into the vault.
/// (No funding, no liquidation keeper: just enough for drills.)
///
/// Emergency surface (see Guarded): the guardian pauses, freezes an account or a market; the
/// governor unpauses, unfreezes, lists markets and sets max leverage, maintenance margin and
/// the oracle, each within on-chain bounds.
contract PerpMarket is Guarded {
    uint256 public constant BPS = 10_000;
    uint256 public constant MIN_LEVERAGE = 1;
    uint256 public constant MAX_LEVERAGE = 50;
    uint256 public constant MIN_MAINTENANCE_MARGIN_BPS = 50;
    uint256 public constant MAX_MAINTENANCE_MARGIN_BPS = 2_500;

    struct Market {
        bool listed;
        bool frozen;
    }

    struct Position {
        bool isLong;
        uint256 margin;
        uint256 notional;
        uint256 entryPrice;
    }

    Vault public immutable vault;
    PriceOracle public oracle;
    uint256 public maxLeverage;
    uint256 public maintenanceMarginBps;

    mapping(bytes32 marketId => Market) private _markets;
    mapping(address account => mapping(bytes32 marketId => Position)) private _positions;

    error MarketFrozen(bytes32 marketId);
    error UnknownMarket(bytes32 marketId);
    error LeverageOutOfRange(uint256 leverage, uint256 maxLeverage);
    error PositionExists(address account, bytes32 marketId);
    error NoPosition(address account, bytes32 marketId);
    error InvalidOracle(address oracle);

    event MarketListed(bytes32 indexed marketId);
    event MarketFreezeSet(bytes32 indexed marketId, bool frozen);
    event OracleUpdated(address oldOracle, address newOracle);
    event PositionOpened(
        address indexed account, bytes32 indexed marketId, bool isLong, uint256 margin, uint256 notional, uint256 price
    );
    event PositionClosed(address indexed account, bytes32 indexed marketId, int256 pnl, uint256 payout, uint256 price);

    constructor(
        address admin,
        Vault vault_,
        PriceOracle oracle_,
        uint256 maxLeverage_,
        uint256 maintenanceMarginBps_,
        uint256 pauseWindow,
        bytes32[] memory marketIds
    ) Guarded(admin, pauseWindow) {
        _checkBounds("maxLeverage", maxLeverage_, MIN_LEVERAGE, MAX_LEVERAGE);
        _checkBounds(
            "maintenanceMarginBps", maintenanceMarginBps_, MIN_MAINTENANCE_MARGIN_BPS, MAX_MAINTENANCE_MARGIN_BPS
        );
        _checkOracle(address(oracle_));
        vault = vault_;
        oracle = oracle_;
        maxLeverage = maxLeverage_;
        maintenanceMarginBps = maintenanceMarginBps_;
        for (uint256 i = 0; i < marketIds.length; i++) {
            _markets[marketIds[i]].listed = true;
            emit MarketListed(marketIds[i]);
        }
    }

    modifier activeMarket(bytes32 marketId) {
        Market memory market = _markets[marketId];
        if (!market.listed) revert UnknownMarket(marketId);
        if (market.frozen) revert MarketFrozen(marketId);
        _;
    }

    // ---- traders -------------------------------------------------------------------------

    function openPosition(bytes32 marketId, bool isLong, uint256 margin, uint256 leverage)
        external
        whenNotPaused
        notFrozen(msg.sender)
        activeMarket(marketId)
    {
        if (leverage < MIN_LEVERAGE || leverage > maxLeverage) revert LeverageOutOfRange(leverage, maxLeverage);
        if (_positions[msg.sender][marketId].margin != 0) revert PositionExists(msg.sender, marketId);
        uint256 entryPrice = oracle.price(marketId);
        vault.debit(msg.sender, margin);
        _positions[msg.sender][marketId] = Position(isLong, margin, margin * leverage, entryPrice);
        emit PositionOpened(msg.sender, marketId, isLong, margin, margin * leverage, entryPrice);
    }

    function closePosition(bytes32 marketId) external whenNotPaused notFrozen(msg.sender) activeMarket(marketId) {
        Position memory position = _positions[msg.sender][marketId];
        if (position.margin == 0) revert NoPosition(msg.sender, marketId);
        uint256 exitPrice = oracle.price(marketId);
        int256 pnl = _pnl(position, exitPrice);
        int256 equity = int256(position.margin) + pnl;
        uint256 payout = equity > 0 ? uint256(equity) : 0;
        delete _positions[msg.sender][marketId];
        if (payout > 0) vault.credit(msg.sender, payout);
        emit PositionClosed(msg.sender, marketId, pnl, payout, exitPrice);
    }

    // ---- guardian --------------------------------------------------------------------------

    function freezeMarket(bytes32 marketId) external onlyRole(GUARDIAN_ROLE) {
        if (!_markets[marketId].listed) revert UnknownMarket(marketId);
        _markets[marketId].frozen = true;
        emit MarketFreezeSet(marketId, true);
    }

    // ---- governor --------------------------------------------------------------------------

    function unfreezeMarket(bytes32 marketId) external onlyRole(GOVERNOR_ROLE) {
        if (!_markets[marketId].listed) revert UnknownMarket(marketId);
        _markets[marketId].frozen = false;
        emit MarketFreezeSet(marketId, false);
    }

    function listMarket(bytes32 marketId) external onlyRole(GOVERNOR_ROLE) {
        _markets[marketId].listed = true;
        emit MarketListed(marketId);
    }

    function setMaxLeverage(uint256 newMaxLeverage) external onlyRole(GOVERNOR_ROLE) {
        _checkBounds("maxLeverage", newMaxLeverage, MIN_LEVERAGE, MAX_LEVERAGE);
        emit ParameterUpdated("maxLeverage", maxLeverage, newMaxLeverage);
        maxLeverage = newMaxLeverage;
    }

    function setMaintenanceMarginBps(uint256 newBps) external onlyRole(GOVERNOR_ROLE) {
        _checkBounds("maintenanceMarginBps", newBps, MIN_MAINTENANCE_MARGIN_BPS, MAX_MAINTENANCE_MARGIN_BPS);
        emit ParameterUpdated("maintenanceMarginBps", maintenanceMarginBps, newBps);
        maintenanceMarginBps = newBps;
    }

    /// Point the market at another price feed (a contract; the zero address is refused).
    function setOracle(address newOracle) external onlyRole(GOVERNOR_ROLE) {
        _checkOracle(newOracle);
        emit OracleUpdated(address(oracle), newOracle);
        oracle = PriceOracle(newOracle);
    }

    // ---- views -----------------------------------------------------------------------------

    function isMarketFrozen(bytes32 marketId) external view returns (bool) {
        return _markets[marketId].frozen;
    }

    function isMarketListed(bytes32 marketId) external view returns (bool) {
        return _markets[marketId].listed;
    }

    function positionOf(address account, bytes32 marketId) external view returns (Position memory) {
        return _positions[account][marketId];
    }

    /// True when the position's equity is below the maintenance margin of its notional.
    function isLiquidatable(address account, bytes32 marketId) external view returns (bool) {
        Position memory position = _positions[account][marketId];
        if (position.margin == 0) return false;
        int256 equity = int256(position.margin) + _pnl(position, oracle.price(marketId));
        return equity * int256(BPS) < int256(position.notional * maintenanceMarginBps);
    }

    // ---- internals -------------------------------------------------------------------------

    function _pnl(Position memory position, uint256 exitPrice) internal pure returns (int256) {
        int256 move = int256(exitPrice) - int256(position.entryPrice);
        int256 pnl = (int256(position.notional) * move) / int256(position.entryPrice);
        return position.isLong ? pnl : -pnl;
    }

    function _checkOracle(address candidate) internal view {
        if (candidate == address(0) || candidate.code.length == 0) revert InvalidOracle(candidate);
    }
}
