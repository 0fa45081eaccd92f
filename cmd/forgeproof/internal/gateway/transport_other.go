//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package gateway

// preparePeek does nothing: there is no non-blocking peek here.
func (c *clientConn) preparePeek() {}

// quiet reports true: without a non-blocking peek, a connection the
// backend closed while idle is found when the request on it fails, and the
// request is retried under http.Transport's rules.
func (c *clientConn) quiet() bool { return true }
