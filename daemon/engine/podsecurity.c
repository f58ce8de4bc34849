/*
 * The Pod Security Standards checks over pod specs in JSON. See podsecurity.h.
 *
 * Design: one table of checks in the order of the published standard; each check looks at the
 * pod (pod_fn) or at one container at a time (container_fn, called for init, regular and
 * ephemeral containers in that order, as the admission library visits them). A restricted check
 * that replaces a baseline one (volumes, capabilities, seccomp, /proc mount) marks the baseline
 * one `baseline_only`. Every field is read through get(), which refuses a wrong JSON type, so a
 * string "true" can never pass where the API server would take a boolean.
 */
#include "engine/podsecurity.h"

#include <flyteplugd/mem.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WHERE_MAX 512
#define PATH_MAX_LEN 256
#define PATH_MAX_SEGMENTS 16

enum kind { K_OBJ, K_ARR, K_BOOL, K_STR, K_INT };

static const char *const kind_names[] = {"an object", "an array", "a boolean", "a string",
                                         "an integer"};

/* One pod being checked. */
struct ps {
	enum fpd_pss_level level;
	const json_t *spec;
	const json_t *meta; /* may be NULL */
	const char *where;  /* "" or the path of the pod spec in its object */
	const char *check;  /* the check running, for messages */
	struct fpd_error *err;
	const json_t *who_of; /* the container who names (every check visits each container) */
	char who[160];
};

const char *fpd_pss_level_name(enum fpd_pss_level level)
{
	switch (level) {
	case FPD_PSS_PRIVILEGED: return "privileged";
	case FPD_PSS_BASELINE: return "baseline";
	case FPD_PSS_RESTRICTED: return "restricted";
	}
	return "?";
}

static int __attribute__((format(printf, 4, 0)))
report(struct ps *ps, int code, const char *who, const char *fmt, va_list ap)
{
	char detail[256];
	vsnprintf(detail, sizeof(detail), fmt, ap);
	const char *sep = ps->where[0] ? ": " : "";
	if (code == FPD_EPERM)
		return fpd_error_set(ps->err, code, "pod security \"%s\": %s%s%s: %s (check: %s)",
		                     fpd_pss_level_name(ps->level), ps->where, sep, who, detail,
		                     ps->check);
	return fpd_error_set(ps->err, code, "pod security \"%s\": %s%s%s: %s",
	                     fpd_pss_level_name(ps->level), ps->where, sep, who, detail);
}

/* A violation of the running check. who: "pod" or `container "main"`. */
static int __attribute__((format(printf, 3, 4)))
deny(struct ps *ps, const char *who, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = report(ps, FPD_EPERM, who, fmt, ap);
	va_end(ap);
	return rc;
}

static int __attribute__((format(printf, 3, 4)))
malformed(struct ps *ps, const char *who, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = report(ps, FPD_EINVAL, who, fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_kind(const json_t *v, enum kind k)
{
	switch (k) {
	case K_OBJ: return json_is_object(v);
	case K_ARR: return json_is_array(v);
	case K_BOOL: return json_is_boolean(v);
	case K_STR: return json_is_string(v);
	case K_INT: return json_is_integer(v);
	}
	return false;
}

/* The value at dotted (keys only) under obj: *out is NULL when any part is absent or null (as
 * Kubernetes reads null), FPD_EINVAL when a part has the wrong type. obj may be NULL. */
static int get(struct ps *ps, const json_t *obj, const char *dotted, enum kind kind,
               const char *who, const json_t **out)
{
	char key[64];
	const char *p = dotted;
	const json_t *v = obj;
	*out = NULL;
	while (v) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		FPD_ASSERT(n < sizeof(key));
		memcpy(key, p, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		if (!v || json_is_null(v))
			return FPD_OK;
		enum kind want = dot ? K_OBJ : kind;
		if (!is_kind(v, want))
			return malformed(ps, who, "%.*s must be %s", (int)(p + n - dotted), dotted,
			                 kind_names[want]);
		if (!dot)
			break;
		p = dot + 1;
	}
	*out = v;
	return FPD_OK;
}

static bool get_true(struct ps *ps, const json_t *obj, const char *dotted, const char *who, int *rc)
{
	const json_t *v;
	*rc = get(ps, obj, dotted, K_BOOL, who, &v);
	return !*rc && json_is_true(v);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* `"RuntimeDefault"` for messages: a missing type is shown as "". */
static const char *str_or_empty(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static bool is_windows(struct ps *ps)
{
	const json_t *os = json_object_get(ps->spec, "os");
	return !strcmp(str_or_empty(json_object_get(os, "name")), "windows");
}

/* spec.hostUsers=false: a user namespace, in which some checks are relaxed. */
static bool user_namespace(struct ps *ps)
{
	return json_is_false(json_object_get(ps->spec, "hostUsers"));
}

/* --- baseline ------------------------------------------------------------------------------ */

static int host_process(struct ps *ps, const json_t *o, const char *who)
{
	int rc;
	if (get_true(ps, o, "securityContext.windowsOptions.hostProcess", who, &rc))
		return deny(ps, who,
		            "securityContext.windowsOptions.hostProcess=true is not allowed");
	return rc;
}

static int host_process_pod(struct ps *ps)
{
	return host_process(ps, ps->spec, "pod");
}

static int host_namespaces(struct ps *ps)
{
	static const char *const keys[] = {"hostNetwork", "hostPID", "hostIPC", NULL};
	for (const char *const *k = keys; *k; k++) {
		int rc;
		if (get_true(ps, ps->spec, *k, "pod", &rc))
			return deny(ps, "pod", "%s=true is not allowed", *k);
		if (rc)
			return rc;
	}
	return FPD_OK;
}

static int privileged(struct ps *ps, const json_t *c, const char *who)
{
	int rc;
	if (get_true(ps, c, "securityContext.privileged", who, &rc))
		return deny(ps, who, "securityContext.privileged=true is not allowed");
	return rc;
}

/* Each string of the array at dotted must be in allowed. */
static int strings_within(struct ps *ps, const json_t *o, const char *dotted, const char *who,
                          const char *const *allowed)
{
	const json_t *arr, *v;
	size_t i;
	int rc = get(ps, o, dotted, K_ARR, who, &arr);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return malformed(ps, who, "%s[%zu] must be a string", dotted, i);
		if (!in_list(json_string_value(v), allowed))
			return deny(ps, who, "%s \"%s\" is not allowed", dotted,
			            json_string_value(v));
	}
	return rc;
}

static int capabilities_baseline(struct ps *ps, const json_t *c, const char *who)
{
	static const char *const allowed[] = {
	    "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE",     "FOWNER",  "FSETID",
	    "KILL",        "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
	    "SETPCAP",     "SETUID", "SYS_CHROOT",       NULL};
	return strings_within(ps, c, "securityContext.capabilities.add", who, allowed);
}

static int host_path_volumes(struct ps *ps)
{
	const json_t *vols, *v, *hp;
	size_t i;
	int rc = get(ps, ps->spec, "volumes", K_ARR, "pod", &vols);
	json_array_foreach(vols, i, v)
	{
		if (!json_is_object(v))
			return malformed(ps, "pod", "volumes[%zu] must be an object", i);
		hp = json_object_get(v, "hostPath");
		if (hp && !json_is_null(hp) && !json_is_object(hp))
			return malformed(ps, "pod", "volumes[%zu].hostPath must be an object", i);
		if (json_is_object(hp))
			return deny(ps, "pod", "volume \"%s\": hostPath volumes are not allowed",
			            str_or_empty(json_object_get(v, "name")));
	}
	return rc;
}

static int host_ports(struct ps *ps, const json_t *c, const char *who)
{
	const json_t *ports, *p, *hp;
	size_t i;
	int rc = get(ps, c, "ports", K_ARR, who, &ports);
	json_array_foreach(ports, i, p)
	{
		if (!json_is_object(p))
			return malformed(ps, who, "ports[%zu] must be an object", i);
		hp = json_object_get(p, "hostPort");
		if (hp && !json_is_null(hp) && !json_is_integer(hp))
			return malformed(ps, who, "ports[%zu].hostPort must be an integer", i);
		if (json_integer_value(hp) != 0)
			return deny(ps, who,
			            "ports[%zu].hostPort=%" JSON_INTEGER_FORMAT " is not allowed",
			            i, json_integer_value(hp));
	}
	return rc;
}

static int host_probes(struct ps *ps, const json_t *c, const char *who)
{
	static const char *const handlers[] = {"livenessProbe.httpGet.host",
	                                       "livenessProbe.tcpSocket.host",
	                                       "readinessProbe.httpGet.host",
	                                       "readinessProbe.tcpSocket.host",
	                                       "startupProbe.httpGet.host",
	                                       "startupProbe.tcpSocket.host",
	                                       "lifecycle.postStart.httpGet.host",
	                                       "lifecycle.postStart.tcpSocket.host",
	                                       "lifecycle.preStop.httpGet.host",
	                                       "lifecycle.preStop.tcpSocket.host",
	                                       NULL};
	for (const char *const *h = handlers; *h; h++) {
		const json_t *v;
		int rc = get(ps, c, *h, K_STR, who, &v);
		if (rc)
			return rc;
		if (v && json_string_length(v))
			return deny(ps, who, "%s=\"%s\" is not allowed", *h, json_string_value(v));
	}
	return FPD_OK;
}

static int apparmor(struct ps *ps, const json_t *o, const char *who)
{
	const json_t *prof, *type;
	int rc = get(ps, o, "securityContext.appArmorProfile", K_OBJ, who, &prof);
	if (!rc && prof)
		rc = get(ps, o, "securityContext.appArmorProfile.type", K_STR, who, &type);
	if (rc || !prof)
		return rc;
	const char *t = str_or_empty(type);
	if (strcmp(t, "RuntimeDefault") && strcmp(t, "Localhost"))
		return deny(ps, who, "securityContext.appArmorProfile.type=\"%s\" is not allowed",
		            t);
	return FPD_OK;
}

static int apparmor_pod(struct ps *ps)
{
	static const char prefix[] = "container.apparmor.security.beta.kubernetes.io/";
	const json_t *ann, *v;
	const char *k;
	int rc = apparmor(ps, ps->spec, "pod");
	if (!rc)
		rc = get(ps, ps->meta, "annotations", K_OBJ, "pod", &ann);
	if (rc)
		return rc;
	json_object_foreach((json_t *)ann, k, v)
	{
		if (strncmp(k, prefix, sizeof(prefix) - 1))
			continue;
		if (!json_is_string(v))
			return malformed(ps, "pod", "annotation %s must be a string", k);
		const char *s = json_string_value(v);
		if (*s && strcmp(s, "runtime/default") && strncmp(s, "localhost/", 10))
			return deny(ps, "pod", "annotation %s=\"%s\" is not allowed", k, s);
	}
	return FPD_OK;
}

static int selinux(struct ps *ps, const json_t *o, const char *who)
{
	static const char *const types[] = {
	    "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t", NULL};
	static const char *const keys[] = {"securityContext.seLinuxOptions.type",
	                                   "securityContext.seLinuxOptions.user",
	                                   "securityContext.seLinuxOptions.role"};
	const json_t *opts, *v[3];
	int rc = get(ps, o, "securityContext.seLinuxOptions", K_OBJ, who, &opts);
	for (size_t i = 0; !rc && opts && i < 3; i++)
		rc = get(ps, o, keys[i], K_STR, who, &v[i]);
	if (rc || !opts)
		return rc;
	if (!in_list(str_or_empty(v[0]), types))
		return deny(ps, who, "securityContext.seLinuxOptions.type=\"%s\" is not allowed",
		            str_or_empty(v[0]));
	for (size_t i = 1; i < 3; i++)
		if (*str_or_empty(v[i]))
			return deny(ps, who, "%s must not be set", keys[i]);
	return FPD_OK;
}

static int selinux_pod(struct ps *ps)
{
	return selinux(ps, ps->spec, "pod");
}

static int proc_mount_strict(struct ps *ps, const json_t *c, const char *who)
{
	const json_t *pm;
	int rc = get(ps, c, "securityContext.procMount", K_STR, who, &pm);
	if (!rc && pm && strcmp(json_string_value(pm), "Default"))
		return deny(ps, who, "securityContext.procMount=\"%s\" is not allowed",
		            json_string_value(pm));
	return rc;
}

/* Baseline relaxes the /proc mount type inside a user namespace; restricted does not. */
static int proc_mount(struct ps *ps, const json_t *c, const char *who)
{
	return user_namespace(ps) ? FPD_OK : proc_mount_strict(ps, c, who);
}

/* *set: whether o sets a seccomp profile type; a type other than RuntimeDefault or Localhost
 * (an empty one included) is a violation. */
static int seccomp_of(struct ps *ps, const json_t *o, const char *who, bool *set)
{
	const json_t *prof, *type;
	*set = false;
	int rc = get(ps, o, "securityContext.seccompProfile", K_OBJ, who, &prof);
	if (!rc && prof)
		rc = get(ps, o, "securityContext.seccompProfile.type", K_STR, who, &type);
	if (rc || !prof)
		return rc;
	const char *t = str_or_empty(type);
	if (strcmp(t, "RuntimeDefault") && strcmp(t, "Localhost"))
		return deny(ps, who, "securityContext.seccompProfile.type=\"%s\" is not allowed",
		            t);
	*set = true;
	return FPD_OK;
}

static int seccomp_baseline(struct ps *ps, const json_t *o, const char *who)
{
	bool set;
	return seccomp_of(ps, o, who, &set);
}

static int seccomp_baseline_pod(struct ps *ps)
{
	return seccomp_baseline(ps, ps->spec, "pod");
}

static int sysctls(struct ps *ps)
{
	static const char *const safe[] = {"kernel.shm_rmid_forced",
	                                   "net.ipv4.ip_local_port_range",
	                                   "net.ipv4.ip_unprivileged_port_start",
	                                   "net.ipv4.tcp_syncookies",
	                                   "net.ipv4.ping_group_range",
	                                   "net.ipv4.ip_local_reserved_ports",
	                                   "net.ipv4.tcp_keepalive_time",
	                                   "net.ipv4.tcp_fin_timeout",
	                                   "net.ipv4.tcp_keepalive_intvl",
	                                   "net.ipv4.tcp_keepalive_probes",
	                                   "net.ipv4.tcp_rmem",
	                                   "net.ipv4.tcp_wmem",
	                                   "net.ipv4.tcp_slow_start_after_idle",
	                                   "net.ipv4.tcp_notsent_lowat",
	                                   NULL};
	const json_t *list, *s, *name;
	size_t i;
	int rc = get(ps, ps->spec, "securityContext.sysctls", K_ARR, "pod", &list);
	json_array_foreach(list, i, s)
	{
		if (!json_is_object(s))
			return malformed(ps, "pod",
			                 "securityContext.sysctls[%zu] must be an object", i);
		name = json_object_get(s, "name");
		if (!json_is_string(name))
			return malformed(ps, "pod",
			                 "securityContext.sysctls[%zu].name must be a string", i);
		if (!in_list(json_string_value(name), safe))
			return deny(ps, "pod", "securityContext.sysctls \"%s\" is not allowed",
			            str_or_empty(name));
	}
	return rc;
}

/* --- restricted ---------------------------------------------------------------------------- */

static int restricted_volumes(struct ps *ps)
{
	static const char *const allowed[] = {
	    "configMap", "csi",   "downwardAPI",           "emptyDir",
	    "ephemeral", "image", "persistentVolumeClaim", "projected",
	    "secret",    NULL};
	const json_t *vols, *v, *src;
	const char *k;
	size_t i;
	int rc = get(ps, ps->spec, "volumes", K_ARR, "pod", &vols);
	json_array_foreach(vols, i, v)
	{
		if (!json_is_object(v))
			return malformed(ps, "pod", "volumes[%zu] must be an object", i);
		const char *type = NULL;
		bool ok = false;
		json_object_foreach((json_t *)v, k, src)
		{
			if (!strcmp(k, "name") || json_is_null(src))
				continue;
			if (in_list(k, allowed))
				ok = true;
			else if (!type)
				type = k;
		}
		if (!ok)
			return deny(ps, "pod", "volume \"%s\" of type %s is not allowed",
			            str_or_empty(json_object_get(v, "name")),
			            type ? type : "(none)");
	}
	return rc;
}

static int privilege_escalation(struct ps *ps, const json_t *c, const char *who)
{
	const json_t *v;
	if (is_windows(ps))
		return FPD_OK;
	int rc = get(ps, c, "securityContext.allowPrivilegeEscalation", K_BOOL, who, &v);
	if (!rc && !json_is_false(v))
		return deny(ps, who, "securityContext.allowPrivilegeEscalation must be false");
	return rc;
}

static int run_as_non_root_pod(struct ps *ps)
{
	const json_t *pod;
	if (user_namespace(ps))
		return FPD_OK;
	int rc = get(ps, ps->spec, "securityContext.runAsNonRoot", K_BOOL, "pod", &pod);
	if (!rc && json_is_false(pod))
		return deny(ps, "pod", "securityContext.runAsNonRoot=false is not allowed");
	return rc;
}

/* After run_as_non_root_pod: the pod's value is a boolean or unset. */
static int run_as_non_root(struct ps *ps, const json_t *c, const char *who)
{
	const json_t *own;
	if (user_namespace(ps))
		return FPD_OK;
	const json_t *pod =
	    json_object_get(json_object_get(ps->spec, "securityContext"), "runAsNonRoot");
	int rc = get(ps, c, "securityContext.runAsNonRoot", K_BOOL, who, &own);
	if (rc)
		return rc;
	if (json_is_false(own))
		return deny(ps, who, "securityContext.runAsNonRoot=false is not allowed");
	if (!own && !json_is_true(pod))
		return deny(ps, who,
		            "securityContext.runAsNonRoot must be true (here or in the pod's "
		            "securityContext)");
	return FPD_OK;
}

static int run_as_user(struct ps *ps, const json_t *o, const char *who)
{
	const json_t *uid;
	if (user_namespace(ps))
		return FPD_OK;
	int rc = get(ps, o, "securityContext.runAsUser", K_INT, who, &uid);
	if (!rc && uid && json_integer_value(uid) == 0)
		return deny(ps, who, "securityContext.runAsUser=0 is not allowed");
	return rc;
}

static int run_as_user_pod(struct ps *ps)
{
	return run_as_user(ps, ps->spec, "pod");
}

static int seccomp_restricted_pod(struct ps *ps)
{
	return is_windows(ps) ? FPD_OK : seccomp_baseline_pod(ps);
}

/* After seccomp_restricted_pod: the pod's profile, if any, is valid. */
static int seccomp_restricted(struct ps *ps, const json_t *c, const char *who)
{
	bool pod_set, own_set;
	if (is_windows(ps))
		return FPD_OK;
	int rc = seccomp_of(ps, ps->spec, "pod", &pod_set);
	if (!rc)
		rc = seccomp_of(ps, c, who, &own_set);
	if (!rc && !pod_set && !own_set)
		return deny(ps, who,
		            "securityContext.seccompProfile.type must be \"RuntimeDefault\" or "
		            "\"Localhost\" (here or in the pod's securityContext)");
	return rc;
}

static int capabilities_restricted(struct ps *ps, const json_t *c, const char *who)
{
	static const char *const add_allowed[] = {"NET_BIND_SERVICE", NULL};
	const json_t *drop, *v;
	size_t i;
	bool all = false;
	if (is_windows(ps))
		return FPD_OK;
	int rc = get(ps, c, "securityContext.capabilities.drop", K_ARR, who, &drop);
	json_array_foreach(drop, i, v)
	{
		all = all || !strcmp(str_or_empty(v), "ALL");
	}
	if (rc)
		return rc;
	if (!all)
		return deny(ps, who, "securityContext.capabilities.drop must contain \"ALL\"");
	return strings_within(ps, c, "securityContext.capabilities.add", who, add_allowed);
}

/* --- the table ----------------------------------------------------------------------------- */

struct check {
	const char *id; /* pod-security-admission's check identifier */
	enum fpd_pss_level level;
	bool baseline_only; /* replaced by a restricted check */
	int (*pod_fn)(struct ps *ps);
	int (*container_fn)(struct ps *ps, const json_t *c, const char *who);
};

static const struct check checks[] = {
    {"windowsHostProcess", FPD_PSS_BASELINE, false, host_process_pod, host_process},
    {"hostNamespaces", FPD_PSS_BASELINE, false, host_namespaces, NULL},
    {"privileged", FPD_PSS_BASELINE, false, NULL, privileged},
    {"capabilities_baseline", FPD_PSS_BASELINE, true, NULL, capabilities_baseline},
    {"hostPathVolumes", FPD_PSS_BASELINE, true, host_path_volumes, NULL},
    {"hostPorts", FPD_PSS_BASELINE, false, NULL, host_ports},
    {"hostProbesAndHostLifecycle", FPD_PSS_BASELINE, false, NULL, host_probes},
    {"appArmorProfile", FPD_PSS_BASELINE, false, apparmor_pod, apparmor},
    {"seLinuxOptions", FPD_PSS_BASELINE, false, selinux_pod, selinux},
    {"procMount", FPD_PSS_BASELINE, true, NULL, proc_mount},
    {"procMount_restricted", FPD_PSS_RESTRICTED, false, NULL, proc_mount_strict},
    {"seccompProfile_baseline", FPD_PSS_BASELINE, true, seccomp_baseline_pod, seccomp_baseline},
    {"sysctls", FPD_PSS_BASELINE, false, sysctls, NULL},
    {"restrictedVolumes", FPD_PSS_RESTRICTED, false, restricted_volumes, NULL},
    {"allowPrivilegeEscalation", FPD_PSS_RESTRICTED, false, NULL, privilege_escalation},
    {"runAsNonRoot", FPD_PSS_RESTRICTED, false, run_as_non_root_pod, run_as_non_root},
    {"runAsUser", FPD_PSS_RESTRICTED, false, run_as_user_pod, run_as_user},
    {"seccompProfile_restricted", FPD_PSS_RESTRICTED, false, seccomp_restricted_pod,
     seccomp_restricted},
    {"capabilities_restricted", FPD_PSS_RESTRICTED, false, NULL, capabilities_restricted},
};

static const struct {
	const char *key;
	const char *label;
} container_lists[] = {
    {"initContainers", "init container"},
    {"containers", "container"},
    {"ephemeralContainers", "ephemeral container"},
};

static int each_container(struct ps *ps, const struct check *chk)
{
	for (size_t l = 0; l < sizeof(container_lists) / sizeof(container_lists[0]); l++) {
		const json_t *list, *c;
		size_t i;
		int rc = get(ps, ps->spec, container_lists[l].key, K_ARR, "pod", &list);
		if (rc)
			return rc;
		json_array_foreach(list, i, c)
		{
			if (ps->who_of != c) {
				const json_t *name = json_object_get(c, "name");
				if (json_is_string(name))
					snprintf(ps->who, sizeof(ps->who), "%s \"%s\"",
					         container_lists[l].label, json_string_value(name));
				else
					snprintf(ps->who, sizeof(ps->who), "%s[%zu]",
					         container_lists[l].key, i);
				ps->who_of = c;
			}
			if (!json_is_object(c))
				return malformed(ps, "pod", "%s must be an object", ps->who);
			if ((rc = chk->container_fn(ps, c, ps->who)))
				return rc;
		}
	}
	return FPD_OK;
}

static int check_pod(enum fpd_pss_level level, const json_t *spec, const json_t *meta,
                     const char *where, struct fpd_error *err)
{
	struct ps ps = {level, spec, json_is_object(meta) ? meta : NULL, where, "", err};
	if (level == FPD_PSS_PRIVILEGED)
		return FPD_OK;
	if (level != FPD_PSS_BASELINE && level != FPD_PSS_RESTRICTED)
		return fpd_error_set(err, FPD_EINVAL, "pod security: unknown level %d", (int)level);
	if (!json_is_object(spec))
		return malformed(&ps, "pod", "the pod spec must be an object");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *chk = &checks[i];
		if (chk->level > level || (chk->baseline_only && level == FPD_PSS_RESTRICTED))
			continue;
		ps.check = chk->id;
		int rc = chk->pod_fn ? chk->pod_fn(&ps) : FPD_OK;
		if (!rc && chk->container_fn)
			rc = each_container(&ps, chk);
		if (rc)
			return rc;
	}
	return FPD_OK;
}

int fpd_podsecurity_check(enum fpd_pss_level level, const json_t *pod_spec,
                          const json_t *pod_metadata, struct fpd_error *err)
{
	return check_pod(level, pod_spec, pod_metadata, "", err);
}

/* --- objects ------------------------------------------------------------------------------- */

struct walk {
	enum fpd_pss_level level;
	const json_t *root;
	bool spark;
	char *segs[PATH_MAX_SEGMENTS];
	size_t nsegs;
	size_t found;
	struct fpd_error *err;
};

/* A SparkPodSpec seen as the PodSpec the operator makes of it (podsecurity.h). New refs. */
static int spark_pod(struct walk *w, const json_t *sp, const char *role, const char *where,
                     json_t **spec, json_t **meta)
{
	const json_t *v;
	json_t *main_c = json_pack("{s:s}", "name", role);
	json_t *containers = json_pack("[o]", main_c);
	*spec = json_pack("{s:o}", "containers", containers);
	*meta = json_object();
	if ((v = json_object_get(sp, "securityContext")))
		json_object_set(main_c, "securityContext", (json_t *)v);
	if ((v = json_object_get(sp, "podSecurityContext")))
		json_object_set(*spec, "securityContext", (json_t *)v);
	if ((v = json_object_get(sp, "hostNetwork")))
		json_object_set(*spec, "hostNetwork", (json_t *)v);
	if ((v = json_object_get(sp, "initContainers")))
		json_object_set(*spec, "initContainers", (json_t *)v);
	if ((v = json_object_get(sp, "annotations")))
		json_object_set(*meta, "annotations", (json_t *)v);
	if ((v = json_object_get(json_object_get(w->root, "spec"), "volumes")))
		json_object_set(*spec, "volumes", (json_t *)v);
	v = json_object_get(sp, "sidecars");
	if (json_is_array(v))
		json_array_extend(containers, (json_t *)v);
	else if (v && !json_is_null(v))
		return fpd_error_set(w->err, FPD_EINVAL,
		                     "pod security \"%s\": %s: sidecars must be an array",
		                     fpd_pss_level_name(w->level), where);
	return FPD_OK;
}

static int visit(struct walk *w, const json_t *node, const json_t *parent, const char *where)
{
	const char *last = w->segs[w->nsegs - 1];
	if (!json_is_object(node))
		return fpd_error_set(w->err, FPD_EINVAL,
		                     "pod security \"%s\": %s: a pod spec must be an object",
		                     fpd_pss_level_name(w->level), where);
	w->found++;
	if (!w->spark) {
		const json_t *meta =
		    !strcmp(last, "spec") ? json_object_get(parent, "metadata") : NULL;
		return check_pod(w->level, node, meta, where, w->err);
	}
	json_t *spec, *meta;
	int rc = spark_pod(w, node, last, where, &spec, &meta);
	if (!rc)
		rc = check_pod(w->level, spec, meta, where, w->err);
	json_decref(spec);
	json_decref(meta);
	return rc;
}

/* Follows segment i onwards from node; where holds the concrete path so far. */
static int walk(struct walk *w, const json_t *node, const json_t *parent, size_t i, char *where,
                size_t used)
{
	if (i == w->nsegs)
		return visit(w, node, parent, where);
	const char *seg = w->segs[i];
	const char *dot = i ? "." : "";
	int rc = FPD_OK;
	if (strcmp(seg, "*")) {
		const json_t *next = json_object_get(node, seg);
		if (!next || json_is_null(next))
			return FPD_OK;
		snprintf(where + used, WHERE_MAX - used, "%s%s", dot, seg);
		return walk(w, next, node, i + 1, where, strlen(where));
	}
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)node, k, v)
		{
			snprintf(where + used, WHERE_MAX - used, "%s%s", dot, k);
			if (!json_is_null(v) &&
			    (rc = walk(w, v, node, i + 1, where, strlen(where))))
				return rc;
		}
	} else if (json_is_array(node)) {
		size_t idx;
		json_t *v;
		json_array_foreach(node, idx, v)
		{
			snprintf(where + used, WHERE_MAX - used, "[%zu]", idx);
			if (!json_is_null(v) &&
			    (rc = walk(w, v, node, i + 1, where, strlen(where))))
				return rc;
		}
	}
	return rc;
}

/* Visits every pod-spec-shaped object under node (an object whose `containers` is an array),
 * not looking inside one found; where holds the concrete path of node. */
static int search(struct walk *w, const json_t *node, const json_t *parent, const char *key,
                  char *where, size_t used)
{
	if (json_is_object(node) && json_is_array(json_object_get(node, "containers"))) {
		w->found++;
		const json_t *meta = key && !strcmp(key, "spec") && parent
		                         ? json_object_get(parent, "metadata")
		                         : NULL;
		return check_pod(w->level, node, meta, where, w->err);
	}
	int rc = FPD_OK;
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)node, k, v)
		{
			snprintf(where + used, WHERE_MAX - used, "%s%s", used ? "." : "", k);
			if ((rc = search(w, v, node, k, where, strlen(where))))
				return rc;
		}
	} else if (json_is_array(node)) {
		size_t idx;
		json_t *v;
		json_array_foreach(node, idx, v)
		{
			snprintf(where + used, WHERE_MAX - used, "[%zu]", idx);
			if ((rc = search(w, v, node, NULL, where, strlen(where))))
				return rc;
		}
	}
	return rc;
}

/* Splits path into w->segs (pointers into buf); FPD_EINVAL for an empty segment, too many, or
 * a path too long. */
static int split_path(struct walk *w, const char *path, char *buf)
{
	const char *p = path;
	w->spark = !strncmp(p, "spark:", 6);
	if (w->spark)
		p += 6;
	size_t n = strlen(p);
	if (n == 0 || n >= PATH_MAX_LEN)
		return fpd_error_set(w->err, FPD_EINVAL, "pod security: bad pod spec path \"%s\"",
		                     path);
	memcpy(buf, p, n + 1);
	w->nsegs = 0;
	for (char *s = buf;; s++) {
		char *dot = strchr(s, '.');
		if (dot)
			*dot = '\0';
		if (!*s || w->nsegs == PATH_MAX_SEGMENTS || strlen(s) >= 64)
			return fpd_error_set(w->err, FPD_EINVAL,
			                     "pod security: bad pod spec path \"%s\"", path);
		w->segs[w->nsegs++] = s;
		if (!dot)
			break;
		s = dot;
	}
	if (w->spark && !strcmp(w->segs[w->nsegs - 1], "*"))
		return fpd_error_set(w->err, FPD_EINVAL,
		                     "pod security: bad pod spec path \"%s\": a Spark pod needs a "
		                     "named role",
		                     path);
	return FPD_OK;
}

int fpd_podsecurity_check_object(enum fpd_pss_level level, const json_t *object,
                                 const char *const *pod_spec_paths, struct fpd_error *err)
{
	struct walk w = {.level = level, .root = object, .err = err};
	if (!json_is_object(object))
		return fpd_error_set(err, FPD_EINVAL,
		                     "pod security: the object must be a JSON object");
	if (!pod_spec_paths || !pod_spec_paths[0])
		return fpd_error_set(err, FPD_EINVAL, "pod security: no pod spec paths given");
	if (level == FPD_PSS_PRIVILEGED)
		return FPD_OK;
	bool searched = false;
	for (const char *const *p = pod_spec_paths; *p; p++) {
		char buf[PATH_MAX_LEN];
		char where[WHERE_MAX] = "";
		if (!strcmp(*p, FPD_POD_SPECS_SEARCH)) {
			searched = true;
			int rc = search(&w, object, NULL, NULL, where, 0);
			if (rc)
				return rc;
			continue;
		}
		int rc = split_path(&w, *p, buf);
		if (!rc && w.spark)
			snprintf(where, sizeof(where), "spark:");
		if (!rc)
			rc = walk(&w, object, NULL, 0, where, strlen(where));
		if (rc)
			return rc;
	}
	if (w.found == 0 && !searched)
		return fpd_error_set(err, FPD_EINVAL,
		                     "pod security: the object holds no pod spec at any of its "
		                     "declared paths (first: %s)",
		                     pod_spec_paths[0]);
	return FPD_OK;
}
