// Package checkpoint is the store a pipeline's stages share: one directory,
// given by --checkpoint or DSTREAM_CHECKPOINT, with a subdirectory per stage
// (DIR/<id>/) and the pipeline's committed checkpoint number in DIR/committed.
//
// Every file is written to a temporary name, fsynced and renamed, and the
// directory fsynced, so a torn write never replaces a good file. Directories
// are 0700 and files 0600: checkpoints hold the pipeline's data.
package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	dirMode  = 0o700
	fileMode = 0o600

	committedFile = "committed"
)

// Dir is one stage's checkpoint directory.
type Dir struct {
	Root string // the pipeline's directory
	Path string // Root/<id>
}

// Open creates (if needed) and opens the stage directory root/id.
func Open(root, id string) (*Dir, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, fmt.Errorf("checkpoint id %q must be a plain name", id)
	}
	if err := mkdir(root); err != nil {
		return nil, err
	}
	path := filepath.Join(root, id)
	if err := mkdir(path); err != nil {
		return nil, err
	}
	// The stage's directory is its own: a temporary file in it is from a
	// write that was killed before its rename.
	if err := RemoveTemps(path, func(string) bool { return true }); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	}
	return &Dir{Root: root, Path: path}, nil
}

// RemoveTemps removes the temporary files that CreateAtomic made in dir and
// never renamed (their writer was killed), for the files whose names
// match: nothing else would ever remove them.
func RemoveTemps(dir string, match func(name string) bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), ".")
		i := strings.LastIndex(name, ".tmp")
		if !ok || i < 0 || !match(name[:i]) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func mkdir(path string) error {
	if err := os.MkdirAll(path, dirMode); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("checkpoint directory %s is not a directory", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// An existing directory may have been made by hand; tighten it
		// rather than leave the pipeline's data readable by others.
		if err := os.Chmod(path, dirMode); err != nil {
			return fmt.Errorf("checkpoint directory: %w", err)
		}
	}
	return nil
}

// WriteFile writes data to the stage directory's file name atomically.
func (d *Dir) WriteFile(name string, data []byte) error {
	return WriteFileAtomic(filepath.Join(d.Path, name), data, fileMode)
}

// ReadFile reads the stage directory's file name.
func (d *Dir) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.Path, name))
}

// Remove deletes the stage directory's file name; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	err := os.Remove(filepath.Join(d.Path, name))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// PruneOlder removes the files named PREFIX<N> with first <= N < the
// committed checkpoint: no restart can need them, and a long run must not
// fill the disk. The committed checkpoint's files and newer ones (not yet
// committed) stay.
func (d *Dir) PruneOlder(prefix string, first uint64) error {
	committed, ok, err := d.Committed()
	if err != nil || !ok {
		return err
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		num, found := strings.CutPrefix(e.Name(), prefix)
		if n, err := strconv.ParseUint(num, 10, 64); found && err == nil && n >= first && n < committed {
			if err := d.Remove(e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Committed returns the pipeline's committed checkpoint number, and false
// when none has been committed.
func (d *Dir) Committed() (uint64, bool, error) {
	b, err := os.ReadFile(filepath.Join(d.Root, committedFile))
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: not a checkpoint number: %q (the sink writes it whole; damaged, it cannot tell which checkpoint to restore: remove the checkpoint directory to start the pipeline over)", filepath.Join(d.Root, committedFile), b)
	}
	return n, true, nil
}

// Commit records n as the pipeline's committed checkpoint.
func (d *Dir) Commit(n uint64) error {
	return WriteFileAtomic(filepath.Join(d.Root, committedFile), []byte(strconv.FormatUint(n, 10)+"\n"), fileMode)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. Readers see the old
// file or the new one, never a torn one.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := CreateAtomic(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// AtomicFile is a file written under a temporary name and renamed to its
// own name by Commit, for output written in pieces.
type AtomicFile struct {
	*os.File
	path string
}

// CreateAtomic starts writing path: the data goes to a temporary file in the
// same directory until Commit.
func CreateAtomic(path string, perm os.FileMode) (*AtomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Commit fsyncs the file, renames it to its path and fsyncs the directory.
func (f *AtomicFile) Commit() error {
	tmp := f.Name()
	if err := f.Sync(); err != nil {
		f.Abort()
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(f.path))
}

// Abort discards what was written.
func (f *AtomicFile) Abort() {
	f.Close()
	os.Remove(f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
