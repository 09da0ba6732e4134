// snapd's own store client (snapd 2.57.6, store.Store.SnapAction) refreshing
// one snap for a registered device whose session the test opened: prints the
// revision the store answered, or "no-update" (snapd's ErrNoUpdateAvailable).
// Usage: snapd-refresh BASE-URL STORE-ID SERIAL SESSION SNAP-NAME SNAP-ID INSTALLED-REVISION
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/snapcore/snapd/overlord/auth"
	"github.com/snapcore/snapd/snap"
	"github.com/snapcore/snapd/store"
)

type deviceCtx struct {
	device  *auth.DeviceState
	storeID string
}

func (c *deviceCtx) Device() (*auth.DeviceState, error) { return c.device, nil }
func (c *deviceCtx) UpdateDeviceAuth(d *auth.DeviceState, m string) (*auth.DeviceState, error) {
	c.device.SessionMacaroon = m
	return c.device, nil
}
func (c *deviceCtx) UpdateUserAuth(u *auth.UserState, d []string) (*auth.UserState, error) {
	return u, nil
}
func (c *deviceCtx) StoreID(fallback string) (string, error) { return c.storeID, nil }
func (c *deviceCtx) DeviceSessionRequestParams(nonce string) (*store.DeviceSessionRequestParams, error) {
	return nil, fmt.Errorf("the test opens the session")
}
func (c *deviceCtx) ProxyStoreParams(u *url.URL) (string, *url.URL, error) { return "", u, nil }
func (c *deviceCtx) CloudInfo() (*auth.CloudInfo, error)                   { return nil, nil }

func main() {
	if len(os.Args) != 8 {
		fmt.Fprintln(os.Stderr, "usage: snapd-refresh BASE-URL STORE-ID SERIAL SESSION SNAP-NAME SNAP-ID INSTALLED-REVISION")
		os.Exit(2)
	}
	// snapd sets this from interfaces/builtin; the answer's snap.yaml declares no plugs or slots.
	snap.SanitizePlugsSlots = func(*snap.Info) {}
	base, err := url.Parse(os.Args[1])
	if err != nil {
		panic(err)
	}
	installed, err := strconv.Atoi(os.Args[7])
	if err != nil {
		panic(err)
	}
	cfg := store.DefaultConfig()
	cfg.StoreBaseURL = base
	cfg.AssertionsBaseURL = base
	cfg.Architecture = "amd64"
	cfg.Series = "16"
	ctx := &deviceCtx{device: &auth.DeviceState{Brand: "acme", Model: "box", Serial: os.Args[3], SessionMacaroon: os.Args[4]}, storeID: os.Args[2]}
	sto := store.New(cfg, ctx)
	current := []*store.CurrentSnap{{InstanceName: os.Args[5], SnapID: os.Args[6], Revision: snap.R(installed), TrackingChannel: "latest/stable", Epoch: snap.E("0")}}
	actions := []*store.SnapAction{{Action: "refresh", InstanceName: os.Args[5], SnapID: os.Args[6]}}
	results, _, err := sto.SnapAction(context.Background(), current, actions, nil, nil, nil)
	if err != nil {
		// No result for the snap (how the store says "no update"), or a result
		// with the installed revision (ErrNoUpdateAvailable): auto-refresh
		// (overlord/snapstate/storehelpers.go, refreshCandidates) logs the
		// SnapActionError and refreshes nothing.
		var sae *store.SnapActionError
		if errors.As(err, &sae) && (sae.NoResults || len(sae.Refresh) == 1 && errors.Is(sae.Refresh[os.Args[5]], store.ErrNoUpdateAvailable)) {
			fmt.Println("no-update")
			return
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, r := range results {
		fmt.Printf("%s %d\n", r.InstanceName(), r.Revision.N)
	}
}
