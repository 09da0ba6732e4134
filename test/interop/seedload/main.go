// seedload: loads a seed with snapd's own seed loader (snapd 2.57.6 source,
// Debian's golang-github-snapcore-snapd-dev), trusting the given root (as
// snapd's test builds do with InjectTrusted and seed.MockTrusted), and prints what it found as
// JSON. Usage: seedload TRUSTED-STREAM SEED-DIR [LABEL]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/snapcore/snapd/asserts"
	"github.com/snapcore/snapd/asserts/sysdb"
	"github.com/snapcore/snapd/seed"
	"github.com/snapcore/snapd/snap"
	"github.com/snapcore/snapd/timings"
)

type snapOut struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	SnapID    string `json:"snap-id"`
	Revision  int    `json:"revision"`
	Channel   string `json:"channel"`
	Essential bool   `json:"essential"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 3 {
		return fmt.Errorf("usage: seedload TRUSTED SEED-DIR [LABEL]")
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
	// The seed package snapshots the trusted set when it loads; replace it
	// as snapd's own tests do (seed.MockTrusted), adding the given root.
	defer sysdb.InjectTrusted(trusted)()
	defer seed.MockTrusted(sysdb.Trusted())()
	// Interface policy is not part of seed loading; snapd's seed tests stub it the same way.
	snap.SanitizePlugsSlots = func(*snap.Info) {}
	label := ""
	if len(os.Args) > 3 {
		label = os.Args[3]
	}
	sd, err := seed.Open(os.Args[2], label)
	if err != nil {
		return err
	}
	if err := sd.LoadAssertions(nil, nil); err != nil {
		return err
	}
	if err := sd.LoadMeta(seed.AllModes, nil, timings.New(nil)); err != nil {
		return err
	}
	out := struct {
		Brand string    `json:"brand"`
		Model string    `json:"model"`
		Snaps []snapOut `json:"snaps"`
	}{Brand: sd.Model().BrandID(), Model: sd.Model().Model()}
	err = sd.Iter(func(sn *seed.Snap) error {
		out.Snaps = append(out.Snaps, snapOut{Name: sn.SnapName(), Path: sn.Path, SnapID: sn.SideInfo.SnapID, Revision: sn.SideInfo.Revision.N, Channel: sn.Channel, Essential: sn.Essential})
		return nil
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
