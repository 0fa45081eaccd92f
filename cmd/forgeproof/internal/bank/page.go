package bank

import (
	"embed"
	"html/template"
	"io/fs"
)

//go:embed page.html
var pageHTML string

//go:embed static
var embedded embed.FS

// staticFS serves /static/bank.css and /static/bank.js.
var staticFS fs.FS = embedded

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))
