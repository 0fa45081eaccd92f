module github.com/forgeproof/forgeproof

go 1.26.0
