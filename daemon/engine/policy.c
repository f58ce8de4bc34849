/*
 * The caller policy. See policy.h.
 *
 * Patterns are fnmatch(3) globs over names that cannot hold '/' or '\', so no flags are needed.
 * Protected namespaces (the system ones and the daemon's own) are admitted by an exact entry in
 * policy.namespaces.allow only: "*" or "kube-*" written for convenience must not hand out
 * kube-system. Service-account and task-type rules are unions: every rule whose `namespaces`
 * matches contributes its `allow` patterns.
 */
#include "engine/policy.h"

#include <flyteplugd/mem.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule {
	char *namespaces;
	struct fpd_strings allow;
};

struct rules {
	struct rule *items;
	size_t count;
};

struct override {
	char *namespaces;
	enum fpd_pss_level level;
};

struct fpd_policy {
	struct fpd_strings ns_allow;
	char *own_namespace; /* "" when unknown */
	struct rules service_accounts;
	struct rules task_types;
	bool task_types_set;
	enum fpd_pss_level level;
	struct override *overrides; /* first match wins */
	size_t n_overrides;
	/* A separate allocation so that the const checks can count their refusals. */
	struct fpd_policy_stats *stats;
};

static const char *const system_namespaces[] = {"kube-system", "kube-public", "kube-node-lease",
                                                NULL};

static bool matches(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, 0) == 0;
}

/* A DNS-1123 label: what a namespace name is. */
static bool namespace_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static void copy_strings(struct fpd_strings *dst, const struct fpd_strings *src)
{
	for (size_t i = 0; i < src->count; i++)
		fpd_strings_push(dst, src->items[i]);
}

static void copy_rules(struct rules *dst, const struct fpd_list *src)
{
	dst->items = fpd_calloc(src->count ? src->count : 1, sizeof(*dst->items));
	dst->count = src->count;
	for (size_t i = 0; i < src->count; i++) {
		const struct fpd_config_policy_rule *r =
		    fpd_list_at(src, sizeof(struct fpd_config_policy_rule), i);
		dst->items[i].namespaces = fpd_strdup(r->namespaces ? r->namespaces : "");
		copy_strings(&dst->items[i].allow, &r->allow);
	}
}

static void free_rules(struct rules *r)
{
	for (size_t i = 0; i < r->count; i++) {
		free(r->items[i].namespaces);
		fpd_strings_free(&r->items[i].allow);
	}
	free(r->items);
}

static bool valid_level(int level)
{
	return level >= FPD_PSS_PRIVILEGED && level <= FPD_PSS_RESTRICTED;
}

int fpd_policy_new(const struct fpd_config_policy *cfg, const char *own_namespace,
                   struct fpd_policy **out, struct fpd_error *err)
{
	*out = NULL;
	if (own_namespace && *own_namespace && !namespace_name(own_namespace))
		return fpd_error_set(err, FPD_EINVAL,
		                     "policy: own namespace \"%s\" is not a "
		                     "namespace name",
		                     own_namespace);
	if (!valid_level(cfg->pod_security_level))
		return fpd_error_set(err, FPD_EINVAL, "policy.pod_security.level: unknown level %d",
		                     cfg->pod_security_level);
	for (size_t i = 0; i < cfg->pss_overrides.count; i++) {
		const struct fpd_config_pss_override *o =
		    fpd_list_at(&cfg->pss_overrides, sizeof(*o), i);
		if (!valid_level(o->level) || !o->namespaces)
			return fpd_error_set(err, FPD_EINVAL,
			                     "policy.pod_security.overrides[%zu]: needs namespaces "
			                     "and a level",
			                     i);
	}
	struct fpd_policy *p = fpd_calloc(1, sizeof(*p));
	if (cfg->namespaces_allow.count)
		copy_strings(&p->ns_allow, &cfg->namespaces_allow);
	else
		fpd_strings_push(&p->ns_allow, "*");
	p->own_namespace = fpd_strdup(own_namespace ? own_namespace : "");
	copy_rules(&p->service_accounts, &cfg->service_accounts);
	copy_rules(&p->task_types, &cfg->task_types);
	p->task_types_set = cfg->task_types_set;
	p->level = (enum fpd_pss_level)cfg->pod_security_level;
	p->n_overrides = cfg->pss_overrides.count;
	p->overrides = fpd_calloc(p->n_overrides + 1, sizeof(*p->overrides));
	for (size_t i = 0; i < p->n_overrides; i++) {
		const struct fpd_config_pss_override *o =
		    fpd_list_at(&cfg->pss_overrides, sizeof(*o), i);
		p->overrides[i].namespaces = fpd_strdup(o->namespaces);
		p->overrides[i].level = (enum fpd_pss_level)o->level;
	}
	p->stats = fpd_calloc(1, sizeof(*p->stats));
	*out = p;
	return FPD_OK;
}

void fpd_policy_free(struct fpd_policy *p)
{
	if (!p)
		return;
	fpd_strings_free(&p->ns_allow);
	free(p->own_namespace);
	free_rules(&p->service_accounts);
	free_rules(&p->task_types);
	for (size_t i = 0; i < p->n_overrides; i++)
		free(p->overrides[i].namespaces);
	free(p->overrides);
	free(p->stats);
	free(p);
}

int fpd_policy_own_namespace(const char *configured, const char *file, char *out, size_t size,
                             struct fpd_error *err)
{
	char buf[256] = "";
	const char *from = "policy.own_namespace";
	const char *env = getenv("POD_NAMESPACE");
	out[0] = '\0';
	if (configured && *configured) {
		snprintf(buf, sizeof(buf), "%s", configured);
	} else if (env && *env) {
		snprintf(buf, sizeof(buf), "%s", env);
		from = "$POD_NAMESPACE";
	} else if (file) {
		FILE *f = fopen(file, "r");
		if (!f)
			return FPD_OK; /* not in a pod */
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\r\n")] = '\0';
		from = file;
	}
	if (buf[0] && !namespace_name(buf))
		return fpd_error_set(err, FPD_EINVAL, "%s: \"%s\" is not a namespace name", from,
		                     buf);
	if (strlen(buf) >= size)
		return fpd_error_set(err, FPD_ERANGE, "%s: namespace name too long", from);
	memcpy(out, buf, strlen(buf) + 1);
	return FPD_OK;
}

/* `"a", "b"` into out, cut with "..." when it does not fit. */
static void join_quoted(char *out, size_t size, const struct fpd_strings *s, size_t *used)
{
	for (size_t i = 0; i < s->count; i++) {
		int n =
		    snprintf(out + *used, size - *used, "%s\"%s\"", *used ? ", " : "", s->items[i]);
		if (n < 0 || (size_t)n >= size - *used) {
			snprintf(out + *used, size - *used, "...");
			*used = size - 1;
			return;
		}
		*used += (size_t)n;
	}
}

static int check_namespace(const struct fpd_policy *p, const char *ns, struct fpd_error *err)
{
	if (!ns || !*ns)
		return fpd_error_set(err, FPD_EINVAL, "policy: the task has no namespace");
	bool own = p->own_namespace[0] && !strcmp(ns, p->own_namespace);
	bool system = false;
	for (const char *const *s = system_namespaces; *s; s++)
		system = system || !strcmp(ns, *s);
	if (own || system) {
		for (size_t i = 0; i < p->ns_allow.count; i++)
			if (!strcmp(p->ns_allow.items[i], ns))
				return FPD_OK;
		p->stats->system_namespace++;
		return fpd_error_set(err, FPD_EPERM,
		                     "namespace \"%s\" is %s: refused unless listed explicitly in "
		                     "policy.namespaces.allow",
		                     ns,
		                     system ? "a system namespace" : "the daemon's own namespace");
	}
	for (size_t i = 0; i < p->ns_allow.count; i++)
		if (matches(p->ns_allow.items[i], ns))
			return FPD_OK;
	char list[256] = "";
	size_t used = 0;
	join_quoted(list, sizeof(list), &p->ns_allow, &used);
	p->stats->unlisted_namespace++;
	return fpd_error_set(err, FPD_EPERM,
	                     "namespace \"%s\" is not allowed by policy.namespaces.allow (%s)", ns,
	                     list);
}

/* Does a rule for ns admit name? On no, *list says which patterns applied. */
static bool rules_admit(const struct rules *r, const char *ns, const char *name, char *list,
                        size_t size)
{
	size_t used = 0;
	for (size_t i = 0; i < r->count; i++) {
		const struct rule *rule = &r->items[i];
		if (!matches(rule->namespaces, ns))
			continue;
		for (size_t j = 0; j < rule->allow.count; j++)
			if (matches(rule->allow.items[j], name))
				return true;
		join_quoted(list, size, &rule->allow, &used);
	}
	if (!used)
		snprintf(list, size, "none for this namespace");
	return false;
}

int fpd_policy_check_create(const struct fpd_policy *p, const char *ns, const char *service_account,
                            const char *task_type, struct fpd_error *err)
{
	int rc = check_namespace(p, ns, err);
	if (rc)
		return rc;
	const char *sa = service_account && *service_account ? service_account : "default";
	char list[256] = "";
	if (strcmp(sa, "default") &&
	    !rules_admit(&p->service_accounts, ns, sa, list, sizeof(list))) {
		p->stats->service_account++;
		return fpd_error_set(err, FPD_EPERM,
		                     "service account \"%s\" in namespace \"%s\" is not allowed by "
		                     "policy.service_accounts (allowed: \"default\"; rules: %s)",
		                     sa, ns, list);
	}
	const char *type = task_type ? task_type : "";
	if (p->task_types_set && !rules_admit(&p->task_types, ns, type, list, sizeof(list))) {
		p->stats->task_type++;
		return fpd_error_set(err, FPD_EPERM,
		                     "task type \"%s\" in namespace \"%s\" is not allowed by "
		                     "policy.task_types (rules: %s)",
		                     type, ns, list);
	}
	return FPD_OK;
}

int fpd_policy_check_access(const struct fpd_policy *p, const char *ns, struct fpd_error *err)
{
	return check_namespace(p, ns, err);
}

enum fpd_pss_level fpd_policy_pod_security_level(const struct fpd_policy *p, const char *ns)
{
	for (size_t i = 0; ns && i < p->n_overrides; i++)
		if (matches(p->overrides[i].namespaces, ns))
			return p->overrides[i].level;
	return p->level;
}

int fpd_policy_check_object(const struct fpd_policy *p, const char *ns, const json_t *object,
                            const char *const *pod_spec_paths, struct fpd_error *err)
{
	enum fpd_pss_level level = fpd_policy_pod_security_level(p, ns);
	int rc = fpd_podsecurity_check_object(level, object, pod_spec_paths, err);
	if (rc == FPD_EPERM)
		p->stats->pod_security++;
	return rc;
}

const struct fpd_policy_stats *fpd_policy_stats(const struct fpd_policy *p)
{
	return p->stats;
}
