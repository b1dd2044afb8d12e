/*
 * xs_hwrng_fill(buffer) for the lin build: fills a writable buffer from the host kernel's CSPRNG
 * with getrandom(2), the desktop counterpart of esp_fill_random(). Never Math.random. A short
 * read or an error throws instead of leaving predictable bytes behind.
 */
#include <errno.h>
#include <sys/random.h>
#include "xsmc.h"
#include "xsHost.h"

void xs_hwrng_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	xsUnsignedValue filled = 0;

	xsmcGetBufferWritable(xsArg(0), &data, &length);
	while (filled < length) {
		ssize_t count = getrandom((char *)data + filled, length - filled, 0);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			xsUnknownError("getrandom failed");
		}
		filled += (xsUnsignedValue)count;
	}
}
