package checkpoint

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// names lists dir, for checking that no temporary file is left.
func names(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return strings.Join(n, " ")
}

func TestOpenModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "ckpt")
	d, err := Open(root, "window")
	if err != nil {
		t.Fatal(err)
	}
	if d.Root != root || d.Path != filepath.Join(root, "window") {
		t.Fatalf("Dir %+v", d)
	}
	for _, p := range []string{root, d.Path} {
		if m := perm(t, p); m != 0o700 {
			t.Errorf("%s: mode %v, want 0700", p, m)
		}
	}
	// Opening again is fine.
	if _, err := Open(root, "window"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenTightensExisting(t *testing.T) {
	root := filepath.Join(t.TempDir(), "ckpt")
	if err := os.MkdirAll(filepath.Join(root, "sink"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, filepath.Join(root, "sink")} {
		if err := os.Chmod(p, 0o755); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	d, err := Open(root, "sink")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, d.Path} {
		if m := perm(t, p); m != 0o700 {
			t.Errorf("%s: mode %v, want 0700", p, m)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{"", ".", "..", "a/b", `a\b`, "/abs"} {
		if _, err := Open(root, id); err == nil || !strings.Contains(err.Error(), "must be a plain name") {
			t.Errorf("Open(%q): %v", id, err)
		}
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, "x"); err == nil {
		t.Error("Open with a file for root succeeded")
	}
	if err := os.WriteFile(filepath.Join(root, "taken"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root, "taken"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open over a file: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	d, err := Open(t.TempDir(), "stage")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("snapshot-1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	// Replacing a file made by hand with looser permissions tightens them.
	loose := filepath.Join(d.Path, "snapshot-2")
	if err := os.WriteFile(loose, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("snapshot-2", []byte("two")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"snapshot-1": "one", "snapshot-2": "two"} {
		b, err := d.ReadFile(name)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
		if m := perm(t, filepath.Join(d.Path, name)); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, m)
		}
	}
	if got := names(t, d.Path); got != "snapshot-1 snapshot-2" {
		t.Errorf("directory holds %s", got)
	}
	if err := d.Remove("snapshot-1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("snapshot-1"); err != nil {
		t.Fatalf("removing a missing file: %v", err)
	}
	if _, err := d.ReadFile("snapshot-1"); !os.IsNotExist(err) {
		t.Fatalf("read a removed file: %v", err)
	}
}

func TestWriteFileAtomicFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	// A directory where the file should go: the rename fails.
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("data"), 0o600); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	if got := names(t, dir); got != "target" {
		t.Fatalf("after a failed write the directory holds %s", got)
	}
	// A missing directory fails before anything is written.
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestWriteFileAtomicRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFileAtomic("plain", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); got != "plain" {
		t.Fatalf("directory holds %s", got)
	}
}

func TestCommitted(t *testing.T) {
	root := t.TempDir()
	a, err := Open(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(root, "b")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, err := a.Committed(); n != 0 || ok || err != nil {
		t.Fatalf("fresh: %d, %v, %v", n, ok, err)
	}
	for _, n := range []uint64{0, 1, 42, math.MaxUint64} {
		if err := a.Commit(n); err != nil {
			t.Fatal(err)
		}
		// Committed is the pipeline's: every stage sees it.
		got, ok, err := b.Committed()
		if got != n || !ok || err != nil {
			t.Errorf("Commit(%d) then Committed() = %d, %v, %v", n, got, ok, err)
		}
	}
	if m := perm(t, filepath.Join(root, "committed")); m != 0o600 {
		t.Errorf("committed: mode %v, want 0600", m)
	}
	if got := names(t, root); got != "a b committed" {
		t.Errorf("root holds %s", got)
	}
}

func TestCommittedBad(t *testing.T) {
	for _, content := range []string{"", "abc", "-1", "1.5", "18446744073709551616", "1 2"} {
		root := t.TempDir()
		d, err := Open(root, "x")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "committed"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, ok, err := d.Committed()
		if err == nil || ok || !strings.Contains(err.Error(), "not a checkpoint number") || !strings.Contains(err.Error(), filepath.Join(root, "committed")) {
			t.Errorf("committed %q: ok %v, error %v", content, ok, err)
		}
	}
	// Surrounding whitespace, as an editor leaves it, is fine.
	root := t.TempDir()
	d, _ := Open(root, "x")
	os.WriteFile(filepath.Join(root, "committed"), []byte(" 7\n\n"), 0o600)
	if n, ok, err := d.Committed(); n != 7 || !ok || err != nil {
		t.Errorf("committed \" 7\\n\\n\": %d, %v, %v", n, ok, err)
	}
}

func TestCommittedUnreadable(t *testing.T) {
	root := t.TempDir()
	d, err := Open(root, "x")
	if err != nil {
		t.Fatal(err)
	}
	// A directory where the file should be: an error, not "none committed".
	if err := os.Mkdir(filepath.Join(root, "committed"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.Committed(); err == nil || ok {
		t.Fatalf("ok %v, error %v", ok, err)
	}
}
