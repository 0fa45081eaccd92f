// Command gin is a gin application protected by forgeproof through the
// adapter module github.com/forgeproof/forgeproof/adapters/gin.
//
//	cd examples/gin && go run .        # then http://127.0.0.1:8084
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/forgeproof/forgeproof"
	fpgin "github.com/forgeproof/forgeproof/adapters/gin"
	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8084", "listen on `ADDR`")
	flag.Parse()
	h, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("gin example on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// newApp returns the gin engine with forgeproof in front of every route.
func newApp() (http.Handler, error) {
	p, err := forgeproof.New(forgeproof.Config{
		Routes: []forgeproof.Route{{Pattern: "/api/", JSONOnly: true}},
	})
	if err != nil {
		return nil, err
	}
	r := gin.New()
	r.Use(fpgin.Middleware(p))
	r.GET("/csrf", gin.WrapH(p.TokenHandler()))
	r.POST("/api/transfers", func(c *gin.Context) {
		var t struct {
			To     string `json:"to" binding:"required"`
			Amount int    `json:"amount"`
		}
		if err := c.ShouldBindJSON(&t); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": `send {"to": "...", "amount": N}`})
			return
		}
		c.JSON(http.StatusCreated, gin.H{"to": t.To, "amount": t.Amount})
	})
	return r, nil
}
