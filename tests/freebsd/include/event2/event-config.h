/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libevent 2.1's generated event2/event-config.h as its configure script
 * writes it on FreeBSD 14 (amd64, kqueue, no epoll/eventfd/timerfd), for
 * tests/freebsd/check-compile only: Debian's copy describes Linux. Only
 * what libevent's public headers read, and the back ends, are listed;
 * written for this project, not copied from a FreeBSD system.
 */
#ifndef EVENT2_EVENT_CONFIG_H_INCLUDED_
#define EVENT2_EVENT_CONFIG_H_INCLUDED_

#define EVENT__NUMERIC_VERSION 0x02010c00
#define EVENT__VERSION "2.1.12-stable"
#define EVENT__PACKAGE_VERSION "2.1.12-stable"

/* Back ends: kqueue, poll and select; none of Linux's. */
#define EVENT__HAVE_KQUEUE 1
#define EVENT__HAVE_WORKING_KQUEUE 1
#define EVENT__HAVE_POLL 1
#define EVENT__HAVE_SELECT 1
#define EVENT__HAVE_ARC4RANDOM 1
#define EVENT__HAVE_ARC4RANDOM_BUF 1
#define EVENT__HAVE_ACCEPT4 1
#define EVENT__HAVE_PIPE2 1
#define EVENT__HAVE_SENDFILE 1
#define EVENT__HAVE_PTHREADS 1

/* Headers and types. */
#define EVENT__HAVE_ERRNO_H 1
#define EVENT__HAVE_INTTYPES_H 1
#define EVENT__HAVE_NETDB_H 1
#define EVENT__HAVE_STDDEF_H 1
#define EVENT__HAVE_STDINT_H 1
#define EVENT__HAVE_SYS_TIME_H 1
#define EVENT__HAVE_SYS_TYPES_H 1
#define EVENT__HAVE_SYS_UIO_H 1
#define EVENT__HAVE_SYS_EVENT_H 1
#define EVENT__HAVE_SYS_QUEUE_H 1
#define EVENT__HAVE_GETADDRINFO 1
#define EVENT__HAVE_GETTIMEOFDAY 1
#define EVENT__HAVE_STRUCT_ADDRINFO 1
#define EVENT__HAVE_STRUCT_SOCKADDR_STORAGE_SS_FAMILY 1
#define EVENT__HAVE_TIMERADD 1
#define EVENT__HAVE_TIMERCLEAR 1
#define EVENT__HAVE_TIMERISSET 1
#define EVENT__HAVE_UINT8_T 1
#define EVENT__HAVE_UINT16_T 1
#define EVENT__HAVE_UINT32_T 1
#define EVENT__HAVE_UINT64_T 1
#define EVENT__HAVE_UINTPTR_T 1

/* LP64. */
#define EVENT__SIZEOF_INT 4
#define EVENT__SIZEOF_LONG 8
#define EVENT__SIZEOF_LONG_LONG 8
#define EVENT__SIZEOF_OFF_T 8
#define EVENT__SIZEOF_PTHREAD_T 8
#define EVENT__SIZEOF_SHORT 2
#define EVENT__SIZEOF_SIZE_T 8
#define EVENT__SIZEOF_TIME_T 8
#define EVENT__SIZEOF_VOID_P 8

#endif /* EVENT2_EVENT_CONFIG_H_INCLUDED_ */
