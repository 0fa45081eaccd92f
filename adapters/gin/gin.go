// Package fpgin adapts forgeproof to the gin web framework, whose handlers
// are not http.Handlers. Import it as
//
//	fpgin "github.com/forgeproof/forgeproof/adapters/gin"
//
// and use the middleware on the engine or a group:
//
//	p, err := forgeproof.New(forgeproof.Config{SessionCookie: "session"})
//	...
//	r := gin.New()
//	r.Use(fpgin.Middleware(p))
//
// Handlers get tokens with p.Token(c.Writer, c.Request) or
// p.TemplateField(c.Writer, c.Request), like any net/http handler.
//
// It is a module of its own so that the forgeproof library requires
// nothing, and only applications that use gin get gin.
package fpgin

import (
	"net/http"

	"github.com/forgeproof/forgeproof"
	"github.com/gin-gonic/gin"
)

// Middleware returns gin middleware that checks every request with p, as
// p.Handler does for net/http: a rejected request is answered by p (a
// problem+json body, or Config.DenyHandler) and the chain is aborted; an
// allowed one goes on to the next handlers. Config.OnDecision is called
// once per request.
func Middleware(p *forgeproof.Protection) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r // a form body the token was read from is restored
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
			return
		}
		c.Next()
	}
}
