/*
 * The lin stand-in for hal/esp32/native/ota-state.js: the same functions, whose host functions
 * live in ota.c beside this (files standing in for the partitions and otadata, and a small
 * emulation of the ESP-IDF bootloader's rollback). Lin images only.
 */
export function runningLabel() @ "xs_ota_state_running_label";
export function runningVersion() @ "xs_ota_state_running_version";
export function runningState() @ "xs_ota_state_running_state";
export function nextLabel() @ "xs_ota_state_next_label";
export function nextSize() @ "xs_ota_state_next_size";
export function lastInvalidLabel() @ "xs_ota_state_last_invalid_label";
export function rollbackEnabled() @ "xs_ota_state_rollback_enabled";
export function markValid() @ "xs_ota_state_mark_valid";
export function readNext(offset, buffer) @ "xs_ota_state_read_next";
export function restart() @ "xs_ota_state_restart";
