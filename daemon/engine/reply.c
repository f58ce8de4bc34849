/* Packed responses for the agent calls. */
#include "engine/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static void send_packed(struct pending_call *c, const ProtobufCMessage *msg)
{
	if (!c->done)
		return;
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = fpd_malloc(n);
	protobuf_c_message_pack(msg, buf);
	c->done(c->ud, FPD_OK, NULL, buf, n);
	c->done = NULL;
	free(buf);
}

void reply_create(struct pending_call *c, const struct fpd_resource_meta *meta,
                  const struct fpd_meta_signer *signer)
{
	char *bytes;
	size_t len;
	struct fpd_error err;
	if (fpd_resource_meta_encode(meta, signer, &bytes, &len, &err)) {
		call_reply_error(c, FPD_ERR, "%s", err.text);
		return;
	}
	Flyteidl__Admin__CreateTaskResponse resp = FLYTEIDL__ADMIN__CREATE_TASK_RESPONSE__INIT;
	resp.resource_meta.data = (uint8_t *)bytes;
	resp.resource_meta.len = len;
	send_packed(c, &resp.base);
	free(bytes);
}

void reply_empty_delete(struct pending_call *c)
{
	Flyteidl__Admin__DeleteTaskResponse resp = FLYTEIDL__ADMIN__DELETE_TASK_RESPONSE__INIT;
	send_packed(c, &resp.base);
}

/* json_t -> google.protobuf.Value/Struct, heap-allocated; freed with free_tree below. */
static Google__Protobuf__Value *to_value(const json_t *j);

static Google__Protobuf__Struct *to_struct(const json_t *obj)
{
	Google__Protobuf__Struct *s = fpd_malloc(sizeof(*s));
	google__protobuf__struct__init(s);
	s->n_fields = json_object_size(obj);
	s->fields = fpd_calloc(s->n_fields ? s->n_fields : 1, sizeof(*s->fields));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		Google__Protobuf__Struct__FieldsEntry *e = fpd_malloc(sizeof(*e));
		google__protobuf__struct__fields_entry__init(e);
		e->key = (char *)k;
		e->value = to_value(v);
		s->fields[i++] = e;
	}
	return s;
}

static Google__Protobuf__Value *to_value(const json_t *j)
{
	Google__Protobuf__Value *v = fpd_malloc(sizeof(*v));
	google__protobuf__value__init(v);
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
		v->struct_value = to_struct(j);
		break;
	case JSON_ARRAY: {
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
		Google__Protobuf__ListValue *l = fpd_malloc(sizeof(*l));
		google__protobuf__list_value__init(l);
		l->n_values = json_array_size(j);
		l->values = fpd_calloc(l->n_values ? l->n_values : 1, sizeof(*l->values));
		for (size_t i = 0; i < l->n_values; i++)
			l->values[i] = to_value(json_array_get(j, i));
		v->list_value = l;
		break;
	}
	case JSON_STRING:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
		v->string_value = (char *)json_string_value(j);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
		v->number_value = json_number_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
		v->bool_value = json_is_true(j);
		break;
	default:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
		v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
		break;
	}
	return v;
}

static void free_value(Google__Protobuf__Value *v);

static void free_struct(Google__Protobuf__Struct *s)
{
	for (size_t i = 0; i < s->n_fields; i++) {
		free_value(s->fields[i]->value);
		free(s->fields[i]);
	}
	free(s->fields);
	free(s);
}

static void free_value(Google__Protobuf__Value *v)
{
	if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
		free_struct(v->struct_value);
	else if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE) {
		for (size_t i = 0; i < v->list_value->n_values; i++)
			free_value(v->list_value->values[i]);
		free(v->list_value->values);
		free(v->list_value);
	}
	free(v);
}

/* The deprecated Resource.state for propellers older than v1.10.7 (phase is what new ones
 * read); its zero value means RETRYABLE_FAILURE, so it must always be set consistently. */
static Flyteidl__Admin__State legacy_state(enum fpd_phase p)
{
	switch (p) {
	case FPD_PHASE_RUNNING: return FLYTEIDL__ADMIN__STATE__RUNNING;
	case FPD_PHASE_SUCCEEDED: return FLYTEIDL__ADMIN__STATE__SUCCEEDED;
	case FPD_PHASE_FAILED:
	case FPD_PHASE_ABORTED: return FLYTEIDL__ADMIN__STATE__PERMANENT_FAILURE;
	case FPD_PHASE_RETRYABLE_FAILED: return FLYTEIDL__ADMIN__STATE__RETRYABLE_FAILURE;
	default: return FLYTEIDL__ADMIN__STATE__PENDING;
	}
}

void reply_resource(struct pending_call *c, const struct fpd_phase_info *pi)
{
	Flyteidl__Admin__Resource res;
	/* The INIT macro names the deprecated field; the init function does not. */
	flyteidl__admin__resource__init(&res);
	res.phase = (Flyteidl__Core__TaskExecution__Phase)pi->phase;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	res.state = legacy_state(pi->phase); /* deliberately set: see legacy_state */
#pragma GCC diagnostic pop
	char *message = NULL;
	if (pi->code && pi->message && fpd_phase_is_failure(pi->phase))
		message = fpd_asprintf("%s: %s", pi->code, pi->message);
	else
		message = fpd_strdup(pi->message ? pi->message : "");
	res.message = message;
	Flyteidl__Core__TaskLog *logs = fpd_calloc(pi->log_count + 1, sizeof(*logs));
	Flyteidl__Core__TaskLog **log_ptrs = fpd_calloc(pi->log_count + 1, sizeof(*log_ptrs));
	for (size_t i = 0; i < pi->log_count; i++) {
		flyteidl__core__task_log__init(&logs[i]);
		logs[i].uri = pi->logs[i].uri;
		logs[i].name = pi->logs[i].name;
		logs[i].message_format = (Flyteidl__Core__TaskLog__MessageFormat)pi->logs[i].format;
		logs[i].showwhilepending = pi->logs[i].show_while_pending;
		logs[i].hideoncefinished = pi->logs[i].hide_once_finished;
		log_ptrs[i] = &logs[i];
	}
	res.n_log_links = pi->log_count;
	res.log_links = log_ptrs;
	if (json_is_object(pi->custom_info))
		res.custom_info = to_struct(pi->custom_info);
	Flyteidl__Admin__GetTaskResponse resp = FLYTEIDL__ADMIN__GET_TASK_RESPONSE__INIT;
	resp.resource = &res;
	send_packed(c, &resp.base);
	if (res.custom_info)
		free_struct(res.custom_info);
	free(log_ptrs);
	free(logs);
	free(message);
}
