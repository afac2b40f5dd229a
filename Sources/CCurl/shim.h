#ifndef TENANTRY_CURL_SHIM_H
#define TENANTRY_CURL_SHIM_H

#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one
   fixed-argument wrapper per argument type. */
static inline CURLcode tenantry_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tenantry_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tenantry_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tenantry_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*tenantry_curl_io_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode tenantry_curl_set_callback(CURL *handle, CURLoption option, tenantry_curl_io_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode tenantry_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
