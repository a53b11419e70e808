/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wakeup.h"

int ph__host_gone(int ctl_fd)
{
	struct pollfd pfd = {.fd = ctl_fd, .events = 0};

	return ctl_fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

void ph__wake_host_if(uint32_t *flag, int wake_fd)
{
	/* One byte per sleep; a full pipe (EAGAIN) means a byte is already
	 * waiting for the host. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(flag, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(flag, 0, __ATOMIC_ACQ_REL) && wake_fd >= 0) {
		ssize_t n;

		do
			n = write(wake_fd, "w", 1);
		while (n < 0 && errno == EINTR);
	}
}

int ph__wait_host(uint32_t *seq, uint32_t *sleeping, int (*ready)(void *ud), void *ud,
		  unsigned int spin_rounds, int ctl_fd)
{
	for (unsigned int i = 0; i < spin_rounds; i++) {
		if (ready(ud))
			return 0;
		__builtin_ia32_pause();
	}
	for (;;) {
		uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};

		__atomic_store_n(sleeping, 1, __ATOMIC_RELAXED);
		/* Pairs with the host's fence between its stores and reading
		 * *sleeping: one of us sees the other. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (ready(ud))
			break;
		/* Not FUTEX_PRIVATE: the word is shared with the host. */
		if (syscall(SYS_futex, seq, FUTEX_WAIT, s, &ts, NULL, 0) < 0 &&
		    errno == ETIMEDOUT && ph__host_gone(ctl_fd)) {
			__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
			return -EPIPE;
		}
		if (ready(ud))
			break;
	}
	__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
	return 0;
}
