/*
 * Kubernetes resource quantities ("500m", "1Gi", "2.5", "1e3"), parsed once for everyone: the
 * pod library, operator plugins and external plugins read and print them with these, by the
 * rules of Go's resource.Quantity (k8s.io/apimachinery).
 */
#ifndef FLYTEPLUGD_QUANTITY_H
#define FLYTEPLUGD_QUANTITY_H

/* Kubernetes' own wording of the quantity syntax, for messages. */
#define FPD_QUANTITY_SYNTAX "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

/* Quantities are shorter than this (the terminating NUL included); longer text is refused. */
#define FPD_QUANTITY_MAX 64

/* Parses a quantity into base units ("500m" -> 0.5, "1Gi" -> 1073741824). Returns 0, or -1
 * when s is NULL or not a quantity (*value untouched). Precision below a nano-unit is rounded
 * up, as Go does. */
int fpd_quantity_parse(const char *s, double *value);

/* Go's canonical form of a quantity ("1000m" -> "1", "1024Mi" -> "1Gi", "0.1" -> "100m"): a
 * new string for free(), or NULL if s is not a quantity. */
char *fpd_quantity_canonical(const char *s);

#endif
