module github.com/forgeproof/forgeproof/examples/chi

go 1.26.0

require (
	github.com/forgeproof/forgeproof v0.0.0
	github.com/go-chi/chi/v5 v5.5.0
)

replace github.com/forgeproof/forgeproof => ../..
