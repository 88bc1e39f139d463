package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultPendingDelDir is where the CNI plugin records the DELs it could
// not hand to the daemon (unreachable, stuck or not ready), and where the
// daemon finishes them when it is back. PendingDelDirEnv overrides it
// (tests).
const (
	DefaultPendingDelDir = "/var/lib/cni/quantumnet/pending-del"
	PendingDelDirEnv     = "QUANTUMNET_PENDING_DEL_DIR"
)

// PendingDelDir is explicit, else $QUANTUMNET_PENDING_DEL_DIR, else the default.
func PendingDelDir(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if d := os.Getenv(PendingDelDirEnv); d != "" {
		return d
	}
	return DefaultPendingDelDir
}

// PendingDel is one DEL the daemon has yet to do: a small JSON file
// <dir>/<hash of container ID and ifname>.json.
type PendingDel struct {
	ContainerID string    `json:"containerID"`
	Ifname      string    `json:"ifname"`
	Network     string    `json:"network,omitempty"`
	CNINetwork  string    `json:"cniNetwork,omitempty"`
	Since       time.Time `json:"since"`
	Why         string    `json:"why,omitempty"`
}

// pendingFile is the record's file name: a hash, since container IDs are
// the runtime's to choose.
func pendingFile(dir, containerID, ifname string) string {
	h := sha256.Sum256([]byte(containerID + "/" + ifname))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

// WritePendingDel records p in dir (created 0700), atomically.
func WritePendingDel(dir string, p PendingDel) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), pendingFile(dir, p.ContainerID, p.Ifname))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// RemovePendingDel removes the record of (containerID, ifname), if any.
func RemovePendingDel(dir, containerID, ifname string) error {
	err := os.Remove(pendingFile(dir, containerID, ifname))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ReadPendingDels reads the records of dir (none if it does not exist); a
// malformed record is reported in the error and skipped.
func ReadPendingDels(dir string) ([]PendingDel, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []PendingDel
	var bad []error
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var p PendingDel
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err == nil && (p.ContainerID == "" || p.Ifname == "") {
			err = errors.New("no container ID or ifname")
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("pending DEL %s: %w", e.Name(), err))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(bad...)
}
