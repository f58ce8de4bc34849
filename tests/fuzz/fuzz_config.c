/* Arbitrary bytes as a configuration file: must be accepted or refused with a located error,
 * never crash, leak or read out of bounds. */
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fpd_config cfg;
	struct fpd_error err;
	if (fpd_config_load_text((const char *)data, size, "fuzz.yaml", &cfg, &err) == FPD_OK)
		fpd_config_free(&cfg);
	return 0;
}
