/* SPDX-License-Identifier: MIT */
/*
 * Log levels, shared by the plugin ABI (ph_log()) and the host API (the
 * log callback): one enum, so a level means the same on both sides.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

enum ph_level {
	PH_ERROR = 0,
	PH_WARN = 1,
	PH_INFO = 2,
	PH_DEBUG = 3,
};

#ifdef __cplusplus
}
#endif
