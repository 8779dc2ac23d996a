// SPDX-License-Identifier: GPL-2.0
/*
 * Files for file.rs: a memfd (or tmpfs file) of the requesting process, named by
 * a file descriptor in a netlink request, read or written whole. Blobs
 * travel this way because a netlink attribute holds at most 64 KiB and a
 * request at most the socket's send buffer.
 */
#include "tcpmig_sys.h"

/*
 * The memory-backed file @fd of the current task (a memfd or a tmpfs
 * file), with a reference, or an ERR_PTR. Only shmem: the request holds
 * generic netlink's cb_lock while it reads or writes, and a file whose
 * reads can block for ever (FUSE, a pipe) would stall every generic
 * netlink user of the host.
 */
struct file *tcpmig_file_get(unsigned int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (!S_ISREG(file_inode(file)->i_mode) || !shmem_mapping(file->f_mapping) ||
	    (file->f_flags & O_APPEND)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

void tcpmig_file_put(struct file *file)
{
	fput(file);
}

loff_t tcpmig_file_size(struct file *file)
{
	return i_size_read(file_inode(file));
}

/* Reads @len bytes at @pos; 0, or a negative errno (-EIO if short). */
int tcpmig_file_read(struct file *file, void *buf, size_t len, loff_t pos)
{
	while (len) {
		ssize_t n = kernel_read(file, buf, len, &pos);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Writes @len bytes at @pos; 0, or a negative errno. */
int tcpmig_file_write(struct file *file, const void *buf, size_t len, loff_t pos)
{
	while (len) {
		ssize_t n = kernel_write(file, buf, len, &pos);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

bool tcpmig_is_err(const void *ptr)
{
	return IS_ERR(ptr);
}

int tcpmig_ptr_err(const void *ptr)
{
	return PTR_ERR(ptr);
}
