/* SPDX-License-Identifier: MIT */
/* plughost policy (policy-cmd.c), and run's --policy FILE. */
#pragma once

struct ph_policy;

/* plughost policy check|learn ...: argv[0] is "policy". Returns the exit
 * code. */
int ph_cli_policy(int argc, char **argv);

/* Load the policy file at path into *ret_policy, or print its error as
 * "plughost: FILE:LINE:COLUMN: message" and return a negative errno. */
int ph_cli_policy_load(const char *path, struct ph_policy **ret_policy);
