//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package gateway

import "syscall"

// preparePeek readies quiet for the connection's socket.
func (c *clientConn) preparePeek() {
	sc, ok := c.conn.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw, c.peek = raw, c.peekQuiet
}

// quiet reports whether an idle connection is still open with nothing to
// read. A backend that closed it, or wrote to it unasked (a late or stray
// response), makes it unusable: what it wrote would be read as the answer
// to the next request.
func (c *clientConn) quiet() bool {
	if c.raw == nil {
		return true
	}
	c.quietNow = false
	if err := c.raw.Read(c.peek); err != nil {
		return false
	}
	return c.quietNow
}

// peekQuiet is the function quiet runs with the socket: a peek that does
// not wait and finds nothing to read.
func (c *clientConn) peekQuiet(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.quietNow = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}
