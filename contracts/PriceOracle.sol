// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title PriceOracle
/// @notice A settable price feed (8 decimals) per market id. UPDATER_ROLE holders (a keeper
/// key) push prices; drills use a leaked updater key to model a compromised oracle, and the
/// governor answers by pointing the PerpMarket at another oracle.
contract PriceOracle is AccessControl {
    bytes32 public constant UPDATER_ROLE = keccak256("UPDATER_ROLE");
    uint8 public constant decimals = 8;

    struct Round {
        uint256 price;
        uint256 updatedAt;
    }

    mapping(bytes32 marketId => Round) private _rounds;

    error PriceUnavailable(bytes32 marketId);
    error ZeroPrice(bytes32 marketId);

    event PriceUpdated(bytes32 indexed marketId, uint256 price, address indexed updater);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function setPrice(bytes32 marketId, uint256 newPrice) external onlyRole(UPDATER_ROLE) {
        if (newPrice == 0) revert ZeroPrice(marketId);
        _rounds[marketId] = Round(newPrice, block.timestamp);
        emit PriceUpdated(marketId, newPrice, msg.sender);
    }

    /// The latest price; reverts if the market was never priced.
    function price(bytes32 marketId) external view returns (uint256) {
        uint256 value = _rounds[marketId].price;
        if (value == 0) revert PriceUnavailable(marketId);
        return value;
    }

    function latestRound(bytes32 marketId) external view returns (uint256 value, uint256 updatedAt) {
        Round memory round = _rounds[marketId];
        return (round.price, round.updatedAt);
    }
}
