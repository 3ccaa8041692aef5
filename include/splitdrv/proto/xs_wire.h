/* SPDX-License-Identifier: MIT */
/**
 * @file xs_wire.h
 * @brief The xenstore wire protocol (Xen's xen/io/xs_wire.h), byte for byte.
 *
 * Every message, in either direction, is a 16-byte header followed by `len`
 * payload bytes (host byte order). Payloads are NUL-separated strings; see
 * doc/store.md for each request's payload and reply. The values and the
 * layout here equal Xen's; tests/interop checks them against libxen-dev.
 *
 * Freestanding: only the compiler's own headers are needed.
 */
#ifndef SPLITDRV_PROTO_XS_WIRE_H
#define SPLITDRV_PROTO_XS_WIRE_H

#include <splitdrv/common.h>

SDRV_BEGIN_DECLS

/** @brief Message types (Xen's `enum xsd_sockmsg_type`). */
enum sdrv_xs_type {
	SDRV_XS_CONTROL = 0,		   /**< Debug/control commands (XS_DEBUG). */
	SDRV_XS_DIRECTORY = 1,		   /**< `path|` -> `child|`* */
	SDRV_XS_READ = 2,		   /**< `path|` -> value (no NUL). */
	SDRV_XS_GET_PERMS = 3,		   /**< `path|` -> `perm|`+ */
	SDRV_XS_WATCH = 4,		   /**< `path|token|` -> `OK|`; fires once at once. */
	SDRV_XS_UNWATCH = 5,		   /**< `path|token|` -> `OK|` */
	SDRV_XS_TRANSACTION_START = 6,	   /**< `|` -> `id|` (decimal). */
	SDRV_XS_TRANSACTION_END = 7,	   /**< `T|` or `F|` -> `OK|`, or EAGAIN. */
	SDRV_XS_INTRODUCE = 8,		   /**< `domid|mfn|evtchn|` -> `OK|` */
	SDRV_XS_RELEASE = 9,		   /**< `domid|` -> `OK|` */
	SDRV_XS_GET_DOMAIN_PATH = 10,	   /**< `domid|` -> `/local/domain/<domid>|` */
	SDRV_XS_WRITE = 11,		   /**< `path|value` -> `OK|` */
	SDRV_XS_MKDIR = 12,		   /**< `path|` -> `OK|` */
	SDRV_XS_RM = 13,		   /**< `path|` -> `OK|` */
	SDRV_XS_SET_PERMS = 14,		   /**< `path|perm|`+ -> `OK|` */
	SDRV_XS_WATCH_EVENT = 15,	   /**< Server to client: `path|token|` */
	SDRV_XS_ERROR = 16,		   /**< Reply: errno name, e.g. `ENOENT|` */
	SDRV_XS_IS_DOMAIN_INTRODUCED = 17, /**< `domid|` -> `T|` or `F|` */
	SDRV_XS_RESUME = 18,		   /**< `domid|` -> `OK|` */
	SDRV_XS_SET_TARGET = 19,	   /**< `domid|tdomid|` -> `OK|` */
	/* 20 was XS_RESTRICT, removed from Xen. */
	SDRV_XS_RESET_WATCHES = 21,  /**< `|` -> `OK|` */
	SDRV_XS_DIRECTORY_PART = 22, /**< `path|offset|` -> `gencnt|child|`*`|` */
	SDRV_XS_TYPE_COUNT = 23,     /**< Number of types. */
	SDRV_XS_INVALID = 0xffff     /**< Guaranteed never valid. */
};

/** @brief The message header (Xen's `struct xsd_sockmsg`), 16 bytes. */
struct sdrv_xs_msg {
	uint32_t type;	 /**< One of enum sdrv_xs_type. */
	uint32_t req_id; /**< Echoed in the reply. */
	uint32_t tx_id;	 /**< Transaction id, 0 outside transactions. */
	uint32_t len;	 /**< Payload bytes that follow. */
};

/** @brief Largest payload either side may send; xenstored drops a peer that sends more. */
#define SDRV_XS_PAYLOAD_MAX 4096
/** @brief Longest absolute path (bytes, without the NUL). */
#define SDRV_XS_ABS_PATH_MAX 3072
/** @brief Longest relative path (bytes, without the NUL). */
#define SDRV_XS_REL_PATH_MAX 2048

/** @brief Index of the path in a WATCH_EVENT payload. */
#define SDRV_XS_WATCH_PATH 0
/** @brief Index of the token in a WATCH_EVENT payload. */
#define SDRV_XS_WATCH_TOKEN 1

/** @brief Write flags strings of the historical write-with-flags request. */
#define SDRV_XS_WRITE_NONE "NONE"
/** @copydoc SDRV_XS_WRITE_NONE */
#define SDRV_XS_WRITE_CREATE "CREATE"
/** @copydoc SDRV_XS_WRITE_NONE */
#define SDRV_XS_WRITE_CREATE_EXCL "CREATE|EXCL"

/** @brief The ring page of a domain's store connection (Xen's
 *         `struct xenstore_domain_interface`), 2076 bytes. */
struct sdrv_xs_domain_interface {
	char req[1024];		  /**< Requests to the store. */
	char rsp[1024];		  /**< Replies and watch events. */
	uint32_t req_cons;	  /**< Request consumer index. */
	uint32_t req_prod;	  /**< Request producer index. */
	uint32_t rsp_cons;	  /**< Response consumer index. */
	uint32_t rsp_prod;	  /**< Response producer index. */
	uint32_t server_features; /**< SDRV_XS_SERVER_FEATURE_* bits. */
	uint32_t connection;	  /**< SDRV_XS_CONNECTED or SDRV_XS_RECONNECT. */
	uint32_t error;		  /**< SDRV_XS_ERROR_* value. */
};

#define SDRV_XS_RING_SIZE		    1024 /**< Bytes in each ring of the page. */
#define SDRV_XS_SERVER_FEATURE_RECONNECTION 1	 /**< The ring can be reconnected. */
#define SDRV_XS_SERVER_FEATURE_ERROR	    2	 /**< The `error` field is present. */
#define SDRV_XS_CONNECTED		    0	 /**< Steady state. */
#define SDRV_XS_RECONNECT		    1	 /**< Reconnection in progress. */
#define SDRV_XS_ERROR_NONE		    0	 /**< No error. */
#define SDRV_XS_ERROR_COMM		    1	 /**< Communication problem. */
#define SDRV_XS_ERROR_RINGIDX		    2	 /**< Invalid ring index. */
#define SDRV_XS_ERROR_PROTO		    3	 /**< Protocol violation. */

/** @brief Device states of the xenbus handshake (Xen's `enum xenbus_state`),
 *         written as decimal strings to each side's `state` key. */
enum sdrv_xenbus_state {
	SDRV_XENBUS_UNKNOWN = 0,       /**< No state yet (the key is absent). */
	SDRV_XENBUS_INITIALISING = 1,  /**< Setting up. */
	SDRV_XENBUS_INITWAIT = 2,      /**< Waiting for the peer's details (backend). */
	SDRV_XENBUS_INITIALISED = 3,   /**< Details published (frontend). */
	SDRV_XENBUS_CONNECTED = 4,     /**< Running. */
	SDRV_XENBUS_CLOSING = 5,       /**< Going down. */
	SDRV_XENBUS_CLOSED = 6,	       /**< Down. */
	SDRV_XENBUS_RECONFIGURING = 7, /**< Changing configuration (e.g. PCI hotplug). */
	SDRV_XENBUS_RECONFIGURED = 8   /**< Reconfiguration done. */
};

/** @brief Number of error names in the wire protocol's table. */
#define SDRV_XS_NR_ERRORS 16

/**
 * @brief The error name the wire protocol uses for a (positive) errno value.
 *
 * The table is Xen's `xsd_errors[]`, in order. A value not in it is sent as
 * "EINVAL", as xenstored does.
 */
SDRV_INLINE const char *sdrv_xs_error_name(int err)
{
	switch (err) {
	case SDRV_EINVAL:
		return "EINVAL";
	case SDRV_EACCES:
		return "EACCES";
	case SDRV_EEXIST:
		return "EEXIST";
	case SDRV_EISDIR:
		return "EISDIR";
	case SDRV_ENOENT:
		return "ENOENT";
	case SDRV_ENOMEM:
		return "ENOMEM";
	case SDRV_ENOSPC:
		return "ENOSPC";
	case SDRV_EIO:
		return "EIO";
	case SDRV_ENOTEMPTY:
		return "ENOTEMPTY";
	case SDRV_ENOSYS:
		return "ENOSYS";
	case SDRV_EROFS:
		return "EROFS";
	case SDRV_EBUSY:
		return "EBUSY";
	case SDRV_EAGAIN:
		return "EAGAIN";
	case SDRV_EISCONN:
		return "EISCONN";
	case SDRV_E2BIG:
		return "E2BIG";
	case SDRV_EPERM:
		return "EPERM";
	default:
		return "EINVAL";
	}
}

/**
 * @brief The errno value (positive) of an error payload from the wire.
 *
 * `name` need not be NUL-terminated; `len` bytes are examined, and one
 * trailing NUL is allowed. An unknown name gives EINVAL, as libxenstore does.
 */
SDRV_INLINE int sdrv_xs_error_parse(const char *name, size_t len)
{
	static const int codes[SDRV_XS_NR_ERRORS] = {
	    SDRV_EINVAL, SDRV_EACCES,  SDRV_EEXIST,    SDRV_EISDIR, SDRV_ENOENT, SDRV_ENOMEM,
	    SDRV_ENOSPC, SDRV_EIO,     SDRV_ENOTEMPTY, SDRV_ENOSYS, SDRV_EROFS,	 SDRV_EBUSY,
	    SDRV_EAGAIN, SDRV_EISCONN, SDRV_E2BIG,     SDRV_EPERM,
	};
	if (len > 0 && name[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < SDRV_XS_NR_ERRORS; i++) {
		const char *n = sdrv_xs_error_name(codes[i]);
		size_t j = 0;
		while (j < len && n[j] != '\0' && n[j] == name[j])
			j++;
		if (j == len && n[j] == '\0')
			return codes[i];
	}
	return SDRV_EINVAL;
}

SDRV_END_DECLS

#endif /* SPLITDRV_PROTO_XS_WIRE_H */
