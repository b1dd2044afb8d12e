/*
 * The lin stand-in for an ESP32's OTA partitions: the host functions of hal/lin/ota.js (Moddable's
 * OTA class: esp_ota_begin/write/end + esp_ota_set_boot_partition) and hal/lin/ota-state.js (the
 * queries and app rollback of hal/esp32/native/ota-state.c), on files in the folder `ota/` of the
 * working folder (the lane's boot folder, beside its Preference store):
 *   ota/ota_0.bin, ota/ota_1.bin   the two app partitions' contents (what was written of them)
 *   ota/otadata                    which partition boots, each one's esp_ota_img_states_t, and
 *                                  the last invalid partition
 * No `ota/` folder is a partition table without OTA slots: no next partition, OTA off. Whoever
 * "flashes" the device puts its first image in ota/ota_0.bin.
 *
 * As ESP-IDF does, and only as far as the firmware can tell:
 * - the bootloader, emulated once per process (the power-on): a partition in state NEW boots in
 *   PENDING_VERIFY; one still PENDING_VERIFY at the next power-on is marked ABORTED, recorded as
 *   the last invalid partition, and the other one boots; a partition whose file does not hold an
 *   image (magic byte 0xE9, an esp_app_desc_t) is passed over;
 * - esp_ota_begin refuses while the running image is PENDING_VERIFY, starts the file at byte 0
 *   (the board cannot continue an image either), and esp_ota_write refuses a first byte other
 *   than 0xE9 or a write past the partition;
 * - esp_ota_end checks the image header and app description (not the checksum and hash the
 *   bootloader also checks); esp_ota_set_boot_partition marks it NEW;
 * - esp_ota_get_partition_description reads esp_app_desc_t at byte 32 (after the 24-byte image
 *   header and the 8-byte first segment header), its version at byte 48;
 * - esp_restart ends the process (saying so on stderr first): whoever runs it powers it on again.
 * Partition sizes are the two OTA slots mcconfig's autosplit makes of the default 4 MB table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "xsmc.h"
#include "xsHost.h"

#define OTA_DIR "ota"
#define IMAGE_MAGIC 0xE9
#define APP_DESC_OFFSET 32
#define APP_DESC_MAGIC 0xABCD5432u
#define APP_DESC_VERSION_OFFSET (APP_DESC_OFFSET + 16)
#define APP_DESC_VERSION_BYTES 32

static const char *const labels[2] = { "ota_0", "ota_1" };
static const size_t sizes[2] = { 0x1F0000, 0x1FE000 };

/* esp_ota_img_states_t, as the names hal/esp32/ota-state.c reports them ("" = none set) */
enum { STATE_NONE, STATE_NEW, STATE_PENDING_VERIFY, STATE_VALID, STATE_INVALID, STATE_ABORTED };
static const char *const stateNames[] = { "", "new", "pending-verify", "valid", "invalid", "aborted" };

typedef struct {
	int boot;		/* partition otadata selects */
	int state[2];
	int invalid;	/* last invalid partition, -1 for none */
} OtaData;

static int powered = 0;	/* the bootloader ran for this process */
static int running = -1;	/* -1: no OTA partitions */
static OtaData otadata;

static int hasOtaFolder(void)
{
	struct stat info;
	return (0 == stat(OTA_DIR, &info)) && S_ISDIR(info.st_mode);
}

static void partitionPath(int index, char *path, size_t size)
{
	snprintf(path, size, OTA_DIR "/%s.bin", labels[index]);
}

static int stateByName(const char *name)
{
	for (int i = 1; i < (int)(sizeof(stateNames) / sizeof(stateNames[0])); i++)
		if (0 == strcmp(name, stateNames[i]))
			return i;
	return STATE_NONE;
}

static void loadOtaData(void)
{
	char key[32], value[32];
	FILE *file = fopen(OTA_DIR "/otadata", "r");
	otadata.boot = 0;
	otadata.state[0] = otadata.state[1] = STATE_NONE;
	otadata.invalid = -1;
	if (!file)
		return;	/* erased otadata: the first app partition boots */
	while (2 == fscanf(file, " %31[^=]=%31s", key, value)) {
		if (0 == strcmp(key, "boot"))
			otadata.boot = (0 == strcmp(value, labels[1])) ? 1 : 0;
		else if (0 == strcmp(key, "invalid"))
			otadata.invalid = (0 == strcmp(value, labels[0])) ? 0 : (0 == strcmp(value, labels[1])) ? 1 : -1;
		else if (0 == strcmp(key, labels[0]))
			otadata.state[0] = stateByName(value);
		else if (0 == strcmp(key, labels[1]))
			otadata.state[1] = stateByName(value);
	}
	fclose(file);
}

/* Written whole to a new file, then renamed over the old one: a kill leaves one or the other. */
static int saveOtaData(void)
{
	FILE *file = fopen(OTA_DIR "/otadata.new", "w");
	if (!file)
		return 0;
	fprintf(file, "boot=%s\n%s=%s\n%s=%s\ninvalid=%s\n", labels[otadata.boot],
		labels[0], otadata.state[0] ? stateNames[otadata.state[0]] : "none",
		labels[1], otadata.state[1] ? stateNames[otadata.state[1]] : "none",
		(otadata.invalid >= 0) ? labels[otadata.invalid] : "none");
	if (0 != fclose(file))
		return 0;
	return 0 == rename(OTA_DIR "/otadata.new", OTA_DIR "/otadata");
}

/* Reads up to `size` bytes at `offset` of a partition's file; what the file does not hold reads as erased flash. */
static int readPartition(int index, size_t offset, void *data, size_t size)
{
	char path[64];
	size_t count = 0;
	FILE *file;
	partitionPath(index, path, sizeof(path));
	memset(data, 0xFF, size);
	file = fopen(path, "rb");
	if (!file)
		return errno == ENOENT;
	if (0 == fseek(file, (long)offset, SEEK_SET))
		count = fread(data, 1, size, file);
	(void)count;
	fclose(file);
	return 1;
}

/* An image header and an app description where ESP-IDF looks for them; its version into `version` when given. */
static int readDescription(int index, char *version)
{
	uint8_t header[APP_DESC_VERSION_OFFSET + APP_DESC_VERSION_BYTES];
	uint32_t magic;
	if (!readPartition(index, 0, header, sizeof(header)) || (IMAGE_MAGIC != header[0]))
		return 0;
	magic = (uint32_t)header[APP_DESC_OFFSET] | ((uint32_t)header[APP_DESC_OFFSET + 1] << 8) | ((uint32_t)header[APP_DESC_OFFSET + 2] << 16) | ((uint32_t)header[APP_DESC_OFFSET + 3] << 24);
	if (APP_DESC_MAGIC != magic)
		return 0;
	if (version) {
		memcpy(version, header + APP_DESC_VERSION_OFFSET, APP_DESC_VERSION_BYTES);
		version[APP_DESC_VERSION_BYTES] = 0;
	}
	return 1;
}

/* The bootloader's choice, once per process. */
static void powerOn(void)
{
	int boot;
	if (powered)
		return;
	powered = 1;
	if (!hasOtaFolder())
		return;
	loadOtaData();
	boot = otadata.boot;
	if (STATE_PENDING_VERIFY == otadata.state[boot]) {
		/* restarted before the new image confirmed itself: given up */
		otadata.state[boot] = STATE_ABORTED;
		otadata.invalid = boot;
		boot = 1 - boot;
	}
	else if (!readDescription(boot, NULL)) {
		boot = 1 - boot;
	}
	if (!readDescription(boot, NULL) || (STATE_ABORTED == otadata.state[boot]) || (STATE_INVALID == otadata.state[boot])) {
		fprintf(stderr, "ota stand-in: no bootable image in " OTA_DIR "/\n");
		return;
	}
	if (STATE_NEW == otadata.state[boot])
		otadata.state[boot] = STATE_PENDING_VERIFY;
	otadata.boot = boot;
	running = boot;
	if (!saveOtaData())
		fprintf(stderr, "ota stand-in: cannot write " OTA_DIR "/otadata\n");
}

static int nextPartition(void)
{
	powerOn();
	return (running < 0) ? -1 : 1 - running;
}

void xs_ota_state_running_label(xsMachine *the)
{
	powerOn();
	if (running >= 0)
		xsmcSetString(xsResult, (char *)labels[running]);
}

void xs_ota_state_running_version(xsMachine *the)
{
	char version[APP_DESC_VERSION_BYTES + 1];
	powerOn();
	if ((running >= 0) && readDescription(running, version))
		xsmcSetString(xsResult, version);
}

void xs_ota_state_running_state(xsMachine *the)
{
	powerOn();
	if ((running >= 0) && (STATE_NONE != otadata.state[running]))
		xsmcSetString(xsResult, (char *)stateNames[otadata.state[running]]);
}

void xs_ota_state_next_label(xsMachine *the)
{
	int next = nextPartition();
	if (next >= 0)
		xsmcSetString(xsResult, (char *)labels[next]);
}

void xs_ota_state_next_size(xsMachine *the)
{
	int next = nextPartition();
	xsmcSetInteger(xsResult, (next >= 0) ? (xsIntegerValue)sizes[next] : 0);
}

void xs_ota_state_last_invalid_label(xsMachine *the)
{
	powerOn();
	if ((running >= 0) && (otadata.invalid >= 0))
		xsmcSetString(xsResult, (char *)labels[otadata.invalid]);
}

/* The emulated bootloader always rolls back, as one built with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE. */
void xs_ota_state_rollback_enabled(xsMachine *the)
{
	xsmcSetTrue(xsResult);
}

void xs_ota_state_mark_valid(xsMachine *the)
{
	powerOn();
	if (running < 0)
		xsUnknownError("mark valid failed");
	if (STATE_PENDING_VERIFY == otadata.state[running]) {
		otadata.state[running] = STATE_VALID;
		if (!saveOtaData())
			xsUnknownError("mark valid failed");
	}
}

void xs_ota_state_read_next(xsMachine *the)
{
	int next = nextPartition();
	xsIntegerValue offset = xsmcToInteger(xsArg(0));
	void *data;
	xsUnsignedValue length;

	xsmcGetBufferWritable(xsArg(1), &data, &length);
	if ((next < 0) || (offset < 0) || ((size_t)offset + length > sizes[next]))
		xsRangeError("read outside the update partition");
	if (!readPartition(next, (size_t)offset, data, length))
		xsUnknownError("read failed");
}

/* Said on stderr (the lane reads it there: mcsim's own exit can linger), then the process ends. */
void xs_ota_state_restart(xsMachine *the)
{
	fprintf(stderr, "\nota stand-in: esp_restart\n");
	fflush(NULL);
	exit(0);
}

/* Moddable's OTA class, on the next partition's file. */

typedef struct {
	FILE *file;
	int partition;
	size_t written;
} xsOTARecord, *xsOTA;

void xs_ota_destructor(void *data)
{
	xsOTA ota = data;
	if (ota) {
		if (ota->file)
			fclose(ota->file);
		free(ota);
	}
}

void xs_ota(xsMachine *the)
{
	char path[64];
	xsOTA ota = calloc(1, sizeof(xsOTARecord));
	if (NULL == ota)
		xsUnknownError("no memory");
	xsmcSetHostData(xsThis, ota);

	ota->partition = nextPartition();
	if (ota->partition < 0)
		xsUnknownError("no update parition");
	/* ESP_ERR_OTA_ROLLBACK_INVALID_STATE: the running image must be confirmed first */
	if (STATE_PENDING_VERIFY == otadata.state[running])
		xsUnknownError("begin failed");
	partitionPath(ota->partition, path, sizeof(path));
	ota->file = fopen(path, "wb");
	if (NULL == ota->file)
		xsUnknownError("begin failed");
}

void xs_ota_write(xsMachine *the)
{
	xsOTA ota = xsmcGetHostData(xsThis);
	xsUnsignedValue size;
	void *data;

	if (!ota->file)
		xsUnknownError("write failed");
	xsmcGetBufferReadable(xsArg(0), &data, &size);
	if ((0 == ota->written) && (size > 0) && (IMAGE_MAGIC != ((uint8_t *)data)[0]))
		xsUnknownError("write failed");	/* ESP_ERR_OTA_VALIDATE_FAILED: not an app image */
	if (ota->written + size > sizes[ota->partition])
		xsUnknownError("write failed");
	/* stored when it returns, as esp_ota_write's flash write is */
	if ((size != fwrite(data, 1, size, ota->file)) || (0 != fflush(ota->file)))
		xsUnknownError("write failed");
	ota->written += size;
}

void xs_ota_cancel(xsMachine *the)
{
	xsOTA ota = xsmcGetHostData(xsThis);
	if (!ota->file)
		return;
	fclose(ota->file);
	ota->file = NULL;
}

void xs_ota_complete(xsMachine *the)
{
	xsOTA ota = xsmcGetHostData(xsThis);

	if (!ota->file)
		xsUnknownError("bad state");
	if (0 != fclose(ota->file)) {
		ota->file = NULL;
		xsUnknownError("end failed");
	}
	ota->file = NULL;
	if (!readDescription(ota->partition, NULL))
		xsUnknownError("end failed");	/* ESP_ERR_OTA_VALIDATE_FAILED */

	otadata.boot = ota->partition;
	otadata.state[ota->partition] = STATE_NEW;
	if (otadata.invalid == ota->partition)
		otadata.invalid = -1;
	if (!saveOtaData())
		xsUnknownError("can't change boot partition");
}
