/*
 * What Moddable's esp32/ota module leaves out and the application slots need: the running
 * image and its otadata state, ESP-IDF's app rollback, reading the update partition back, and
 * restart (ota-state.c beside this). Host functions (XS `@` syntax), wrapped by hal/esp32/ota.ts.
 * hal/lin/ota-state.js declares the same functions for the lin stand-in.
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
