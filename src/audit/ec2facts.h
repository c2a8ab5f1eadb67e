/* Security group ingress as the CLI and AWS Config write it. */
#ifndef KM_AUDIT_EC2FACTS_H
#define KM_AUDIT_EC2FACTS_H
#include "audit/check.h"

/* Whether the group lets the whole internet (0.0.0.0/0 or ::/0) reach TCP port `port`
 * (port -1: every port, i.e. protocol "-1" or TCP 0-65535). Writes the rule into rule. */
int km_sg_world_open(const km_res *sg, int port, char *rule, size_t n);
/* The security group resource with id in account/region, or NULL. */
const km_res *km_sg_find(km_audit *a, const char *account, const char *region, const char *id);
#endif
