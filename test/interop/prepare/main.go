// prepare: runs snapd's own `snap prepare-image` code (image.Prepare from the
// snapd 2.57.6 source, Debian's golang-github-snapcore-snapd-dev) with the
// given root added to the trusted set, as snapd's test builds do. The store
// is UBUNTU_STORE_URL.
// Usage: prepare TRUSTED-STREAM MODEL TARGET-DIR [--channel C] [SNAP-FILE]...
// Build with -tags nosecboot.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/snapcore/snapd/asserts"
	"github.com/snapcore/snapd/asserts/sysdb"
	"github.com/snapcore/snapd/image"
	"github.com/snapcore/snapd/snap"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 4 {
		return fmt.Errorf("usage: prepare TRUSTED MODEL TARGET-DIR [--channel C] [SNAP-FILE]...")
	}
	opts := &image.Options{ModelFile: os.Args[2], PrepareDir: os.Args[3]}
	for i := 4; i < len(os.Args); i++ {
		if os.Args[i] == "--channel" && i+1 < len(os.Args) {
			opts.Channel = os.Args[i+1]
			i++
			continue
		}
		opts.Snaps = append(opts.Snaps, os.Args[i])
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	var trusted []asserts.Assertion
	dec := asserts.NewDecoder(bytes.NewReader(data))
	for {
		a, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		trusted = append(trusted, a)
	}
	defer sysdb.InjectTrusted(trusted)()
	// The image package snapshots the trusted set when it loads.
	defer image.MockTrusted(sysdb.Trusted())()
	// Interface policy is not part of image building; snapd's tests stub it the same way.
	snap.SanitizePlugsSlots = func(*snap.Info) {}
	return image.Prepare(opts)
}
