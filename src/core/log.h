/* Logging to stderr, one line per event, prefixed "mintflow: ". Control
 * path only: nothing on the data path logs per packet. */
#ifndef MF_CORE_LOG_H
#define MF_CORE_LOG_H

typedef enum { MF_LOG_ERROR, MF_LOG_WARN, MF_LOG_INFO, MF_LOG_DEBUG } mf_log_level_t;

extern mf_log_level_t mf_log_level;

void mf_log(mf_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mf_log_error(...) mf_log(MF_LOG_ERROR, __VA_ARGS__)
#define mf_log_warn(...) mf_log(MF_LOG_WARN, __VA_ARGS__)
#define mf_log_info(...) mf_log(MF_LOG_INFO, __VA_ARGS__)
#define mf_log_debug(...) mf_log(MF_LOG_DEBUG, __VA_ARGS__)

#endif
