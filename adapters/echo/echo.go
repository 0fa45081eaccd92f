// Package fpecho adapts forgeproof to the Echo web framework, whose
// handlers are not http.Handlers. Import it as
//
//	fpecho "github.com/forgeproof/forgeproof/adapters/echo"
//
// and use the middleware on the server or a group:
//
//	p, err := forgeproof.New(forgeproof.Config{SessionCookie: "session"})
//	...
//	e := echo.New()
//	e.Use(fpecho.Middleware(p))
//
// Handlers get tokens with p.Token(c.Response(), c.Request()).
//
// It is a module of its own so that the forgeproof library requires
// nothing, and only applications that use Echo get Echo.
package fpecho

import (
	"github.com/forgeproof/forgeproof"
	"github.com/labstack/echo/v4"
)

// Middleware returns Echo middleware that checks every request with p, as
// p.Handler does for net/http: a rejected request is answered by p (a
// problem+json body, or Config.DenyHandler) and the next handler is not
// called; an allowed one goes on with the request p passed (whose form
// body, if the token was read from it, is restored).
func Middleware(p *forgeproof.Protection) echo.MiddlewareFunc {
	return echo.WrapMiddleware(p.Handler)
}
