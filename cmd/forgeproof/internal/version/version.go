// Package version reports which build of forgeproof is running, from the
// build information that the Go toolchain embeds in the binary.
package version

import (
	"runtime/debug"
	"strings"
)

// Info describes the running binary.
type Info struct {
	// Module is the version of the forgeproof/cmd/forgeproof module:
	// a tag such as "v1.2.0" when installed with go install, or "(devel)"
	// when built from a checkout.
	Module string
	// Commit is the VCS revision the binary was built from, or "" when
	// the toolchain did not record one (go install, go test).
	Commit string
	// Time is the commit's time (RFC 3339), or "".
	Time string
	// Modified is true when the checkout had uncommitted changes.
	Modified bool
	// Go is the version of the Go toolchain that built the binary.
	Go string
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{Module: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Go = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		info.Module = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String returns the version in one word for reports: the module version,
// followed by "+" and the first 12 digits of the commit when known, and
// "-dirty" for a modified checkout, such as "(devel)+3f2c1a9b8e7d-dirty".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Module)
	if i.Commit != "" {
		b.WriteString("+")
		b.WriteString(i.Commit[:min(12, len(i.Commit))])
		if i.Modified {
			b.WriteString("-dirty")
		}
	}
	return b.String()
}
