/*
 * The example's own test program: libflyteplugd linked statically, outside the daemon. Prints
 * the proto3 JSON of a Flyte Resources message and a quantity's value; exits 1 on any error.
 */
#include <flyteplugd/error.h>
#include <flyteplugd/quantity.h>
#include <flyteplugd/structpb.h>

#include <stdio.h>

#include "flyteidl/core/tasks.pb-c.h"

int main(void)
{
	struct fpd_error err = {0};
	json_t *in = json_loads("{\"requests\": [{\"name\": \"MEMORY\", \"value\": \"1Gi\"}]}", 0, NULL);
	ProtobufCMessage *m = NULL;
	if (fpd_json_to_message(in, &flyteidl__core__resources__descriptor, &m, &err)) {
		fprintf(stderr, "check: %s\n", err.text);
		return 1;
	}
	const Flyteidl__Core__Resources *r = (const Flyteidl__Core__Resources *)m;
	double v = 0;
	if (r->n_requests != 1 || fpd_quantity_parse(r->requests[0]->value, &v)) {
		fprintf(stderr, "check: unexpected message\n");
		return 1;
	}
	printf("memory %.0f\n", v);
	protobuf_c_message_free_unpacked(m, NULL);
	json_decref(in);
	return 0;
}
