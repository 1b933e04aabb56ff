package checksum

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrNoTree reports that a tile cannot be verified because the verifier
// holds no signed tree head that covers it (nothing was verified yet, or
// the tile lies beyond the latest verified tree).
var ErrNoTree = errors.New("no verified tree head covers this tile")

// Tile returns the content of a hash tile of the database (such as the
// go command asks for through the /sumdb/ pass-through), verified against
// the latest signed tree head the verifier holds, so that a mirror serving a
// forked or corrupt tree cannot reach the go command. Verified tiles are
// stored, and the sources are tried in order as for Lookup. It returns
// ErrNoTree when no verified tree covers the tile.
func (v *Verifier) Tile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if t.L < 0 {
		return nil, fmt.Errorf("tile %s: data tiles are not verified here: %w", t.Path(), ErrNoTree)
	}
	tree, err := v.latestTree()
	if err != nil {
		return nil, err
	}
	// The tile holds W hashes at tree level L*H, starting at N<<H; the tree
	// has tree.N >> (L*H) complete hashes at that level.
	if end := t.N<<uint(t.H) + int64(t.W); tree.N>>uint(t.L*t.H) < end {
		return nil, fmt.Errorf("tile %s: the latest verified tree has %d records: %w", t.Path(), tree.N, ErrNoTree)
	}
	sources := v.cfg.Sources()
	if len(sources) == 0 {
		sources = []Source{offline{}}
	}
	var failures []string
	for _, src := range sources {
		r := &tileReader{ctx: ctx, v: v, src: src, height: t.H}
		data, err := tlog.ReadTileData(t, tlog.TileHashReader(tree, r))
		if err == nil {
			return data, nil
		}
		if !r.readFailed {
			// Every read succeeded and the tiles still did not verify.
			v.log.Error("checksum database tile from an upstream failed verification",
				"source", src.Name(), "tile", t.Path(), "err", err)
			if v.cfg.BadContent != nil {
				v.cfg.BadContent(src.Name(), err)
			}
		}
		failures = append(failures, fmt.Sprintf("%s: %v", src.Name(), err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("tile %s: %w: %s", t.Path(), ErrUnavailable, strings.Join(failures, "; "))
}

// latestTree returns the latest verified tree head from the store.
func (v *Verifier) latestTree() (tlog.Tree, error) {
	msg, err := v.cfg.Store.ReadValue(configKey(v.cfg.DB.Name + "/latest"))
	if err != nil {
		return tlog.Tree{}, err
	}
	if len(msg) == 0 {
		return tlog.Tree{}, ErrNoTree
	}
	verifier, err := note.NewVerifier(v.cfg.DB.Key)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checksum database key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("stored tree head of %s: %w", v.cfg.DB.Name, err)
	}
	return tlog.ParseTree([]byte(n.Text))
}

// tileReader reads tiles for tlog's verification: verified ones from the
// store, others from one source; SaveTiles stores what tlog verified.
type tileReader struct {
	ctx    context.Context
	v      *Verifier
	src    Source
	height int
	// readFailed is set when a read from the source failed.
	readFailed bool
	// stored marks the tiles that came from the store, which need no
	// saving back.
	stored map[tlog.Tile]bool
}

// Height returns the tile height.
func (r *tileReader) Height() int { return r.height }

// ReadTiles returns each tile's data, from the store when verified there,
// else from the source (a partial tile the source no longer has is cut
// from the full one).
func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	ops := &clientOps{ctx: r.ctx, v: r.v, src: r.src}
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		want := t.W * tlog.HashSize
		data, err := ops.ReadCache(r.v.cfg.DB.Name + "/" + t.Path())
		if err == nil {
			if r.stored == nil {
				r.stored = make(map[tlog.Tile]bool)
			}
			r.stored[t] = true
		} else {
			data, err = r.src.ReadRemote(r.ctx, "/"+t.Path())
		}
		if err != nil && t.W < 1<<uint(t.H) {
			full := t
			full.W = 1 << uint(t.H)
			data, err = r.src.ReadRemote(r.ctx, "/"+full.Path())
			if err == nil && len(data) >= want {
				data = data[:want]
			}
		}
		if err != nil {
			r.readFailed = true
			return nil, err
		}
		if len(data) != want {
			return nil, fmt.Errorf("tile %s from %s has %d bytes, want %d", t.Path(), r.src.Name(), len(data), want)
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles stores tiles tlog has verified.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	ops := &clientOps{ctx: r.ctx, v: r.v, src: r.src}
	for i, t := range tiles {
		if !r.stored[t] {
			ops.WriteCache(r.v.cfg.DB.Name+"/"+t.Path(), data[i])
		}
	}
}
