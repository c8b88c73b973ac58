// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Timelock
/// @notice OpenZeppelin's TimelockController, unchanged. It is declared here only so that the
/// project build (.build/__local__.json) contains its ABI and bytecode.
///
/// The testbed deploys it with the guardian Safe as the only proposer (which also makes it
/// the canceller) and the only executor (never address(0), which would open execution to
/// anyone), a realistic minimum delay, and no admin (admin = address(0)).
contract Timelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
