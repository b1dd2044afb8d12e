/*
 * ESP-IDF's app rollback and partition queries for hal/esp32/app-slots.ts (through
 * ota-state.js): Moddable's esp32/ota module writes an image (esp_ota_begin/write/end,
 * esp_ota_set_boot_partition) and exposes nothing else.
 *
 * A running image is on trial while otadata holds ESP_OTA_IMG_PENDING_VERIFY for it, which the
 * bootloader sets only when built with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (the library's
 * sdkconfig/sdkconfig.defaults); rollbackEnabled() says whether it was, so the JavaScript side
 * can still settle an update without it. Not compiled or run here: the ESP-IDF half of the
 * build is the board's (docs/ESP32.md, "OTA").
 */
#include "xsmc.h"
#include "xsHost.h"
#include "sdkconfig.h"
#include "esp_system.h"
#include "app_update/include/esp_ota_ops.h"

static void setLabel(xsMachine *the, const esp_partition_t *partition)
{
	if (partition)
		xsmcSetString(xsResult, (char *)partition->label);
}

void xs_ota_state_running_label(xsMachine *the)
{
	setLabel(the, esp_ota_get_running_partition());
}

/* esp_app_desc_t.version of the running image: CONFIG_APP_PROJECT_VER of its build. */
void xs_ota_state_running_version(xsMachine *the)
{
	esp_app_desc_t description;
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (running && (ESP_OK == esp_ota_get_partition_description(running, &description))) {
		description.version[sizeof(description.version) - 1] = 0;
		xsmcSetString(xsResult, description.version);
	}
}

/* The running image's otadata state by name; undefined for a factory app or no state. */
void xs_ota_state_running_state(xsMachine *the)
{
	esp_ota_img_states_t state;
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (!running || (ESP_OK != esp_ota_get_state_partition(running, &state)))
		return;
	switch (state) {
		case ESP_OTA_IMG_NEW: xsmcSetString(xsResult, "new"); break;
		case ESP_OTA_IMG_PENDING_VERIFY: xsmcSetString(xsResult, "pending-verify"); break;
		case ESP_OTA_IMG_VALID: xsmcSetString(xsResult, "valid"); break;
		case ESP_OTA_IMG_INVALID: xsmcSetString(xsResult, "invalid"); break;
		case ESP_OTA_IMG_ABORTED: xsmcSetString(xsResult, "aborted"); break;
		default: xsmcSetString(xsResult, "undefined"); break;
	}
}

/* The partition `new OTA()` writes to (Moddable's xs_ota asks for the same one). */
void xs_ota_state_next_label(xsMachine *the)
{
	setLabel(the, esp_ota_get_next_update_partition(NULL));
}

void xs_ota_state_next_size(xsMachine *the)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	xsmcSetInteger(xsResult, next ? (xsIntegerValue)next->size : 0);
}

void xs_ota_state_last_invalid_label(xsMachine *the)
{
	setLabel(the, esp_ota_get_last_invalid_partition());
}

void xs_ota_state_rollback_enabled(xsMachine *the)
{
#if CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
	xsmcSetTrue(xsResult);
#else
	xsmcSetFalse(xsResult);
#endif
}

void xs_ota_state_mark_valid(xsMachine *the)
{
	if (ESP_OK != esp_ota_mark_app_valid_cancel_rollback())
		xsUnknownError("mark valid failed");
}

/* readNext(offset, buffer): the update partition's bytes from offset into the whole buffer. */
void xs_ota_state_read_next(xsMachine *the)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	xsIntegerValue offset = xsmcToInteger(xsArg(0));
	void *data;
	xsUnsignedValue length;

	xsmcGetBufferWritable(xsArg(1), &data, &length);
	if (!next || (offset < 0) || ((size_t)offset + length > next->size))
		xsRangeError("read outside the update partition");
	if (ESP_OK != esp_partition_read(next, (size_t)offset, data, length))
		xsUnknownError("read failed");
}

void xs_ota_state_restart(xsMachine *the)
{
	esp_restart();
}
