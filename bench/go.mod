module github.com/forgeproof/forgeproof/bench

go 1.26.0

require (
	github.com/forgeproof/forgeproof v0.0.0
	github.com/gorilla/csrf v1.7.3
	github.com/gorilla/websocket v1.5.3
	github.com/justinas/nosurf v1.2.0
)

require github.com/gorilla/securecookie v1.1.2 // indirect

replace github.com/forgeproof/forgeproof => ../
