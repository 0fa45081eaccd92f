package redisstore_test

import (
	"log"
	"net/http"
	"os"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of the application gets the same key ring and a client
// of the same Redis, so that a token issued by one is accepted by all.
func ExampleNew() {
	// The key was made once with "forgeproof keygen" and is given to every
	// instance, as a secret.
	key, err := forgeproof.ParseKey(os.Getenv("CSRF_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := forgeproof.NewKeyRing(key)
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()

	p, err := forgeproof.New(forgeproof.Config{
		Keys:          keys,
		Store:         redisstore.New(client, redisstore.Options{Prefix: "shop:"}),
		Tokens:        forgeproof.SynchronizerTokens,
		SessionCookie: "session",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /csrf-token", p.TokenHandler())
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", p.Handler(mux)))
}

// Open builds the client from a URL, with timeouts suited to a store that
// every protected request may wait on.
func ExampleOpen() {
	store, err := redisstore.Open("redis://127.0.0.1:6379/0", redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	p, err := forgeproof.New(forgeproof.Config{Store: store, Tokens: forgeproof.SynchronizerTokens, SessionCookie: "session"})
	if err != nil {
		log.Fatal(err)
	}
	_ = p
}
