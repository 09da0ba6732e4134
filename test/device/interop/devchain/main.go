// devchain writes, with snapd's own code and test keys, what a device needs
// to register against snapd's fakedevicesvc (tests/lib/fakedevicesvc): the
// test root (systestkeys.Trusted), the developer1 account and account-key
// signed by it (as snapd's spread tests have them), and a model of
// developer1 signed with assertstest.DevKey, the key fakedevicesvc signs
// serials with.
//
// Usage: devchain DIR   (writes DIR/trusted, DIR/chain, DIR/model)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/snapcore/snapd/asserts"
	"github.com/snapcore/snapd/asserts/assertstest"
	"github.com/snapcore/snapd/asserts/systestkeys"
)

func write(path string, as ...asserts.Assertion) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	enc := asserts.NewEncoder(f)
	for _, a := range as {
		if err := enc.Encode(a); err != nil {
			panic(err)
		}
	}
}

func must(a asserts.Assertion, err error) asserts.Assertion {
	if err != nil {
		panic(err)
	}
	return a
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: devchain DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	rootKey, _ := assertstest.ReadPrivKey(systestkeys.TestRootPrivKey)
	root := assertstest.NewSigningDB("testrootorg", rootKey)
	devKey, _ := assertstest.ReadPrivKey(assertstest.DevKey)
	since := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	account := must(root.Sign(asserts.AccountType, map[string]interface{}{
		"authority-id": "testrootorg", "account-id": "developer1", "display-name": "Developer1",
		"validation": "unproven", "timestamp": since,
	}, nil, ""))
	pub, err := asserts.EncodePublicKey(devKey.PublicKey())
	if err != nil {
		panic(err)
	}
	accountKey := must(root.Sign(asserts.AccountKeyType, map[string]interface{}{
		"authority-id": "testrootorg", "account-id": "developer1", "name": "dev1",
		"public-key-sha3-384": devKey.PublicKey().ID(), "since": since,
	}, pub, ""))
	dev := assertstest.NewSigningDB("developer1", devKey)
	model := must(dev.Sign(asserts.ModelType, map[string]interface{}{
		"authority-id": "developer1", "brand-id": "developer1", "series": "16", "model": "interop-box",
		"architecture": "amd64", "gadget": "pc", "kernel": "pc-kernel", "timestamp": since,
	}, nil, ""))
	write(filepath.Join(dir, "trusted"), systestkeys.Trusted...)
	write(filepath.Join(dir, "chain"), account, accountKey)
	write(filepath.Join(dir, "model"), model)
}
