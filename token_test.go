package forgeproof

import (
	"io"
	"log"
)

// discardLog swallows the warnings of Protections made in tests.
var discardLog = log.New(io.Discard, "", 0)
