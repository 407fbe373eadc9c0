//! Mapping request targets to files under the root, and the pinned in-memory file cache.
//!
//! # Never outside the root
//! The target's path is percent-decoded once; a decoded NUL, a backslash, or a `..` segment
//! is refused (404), so `%2e%2e` cannot sneak past. The candidate is then canonicalised (all
//! symlinks resolved) and must still lie under the canonical root, so a symlink that leads out
//! is refused too. Directories serve their `index.html`.
//!
//! # The cache (after the paper's `pin_cache`)
//! Entries are shared `Rc<File>`s. Holding one *pins* it: a response that is being written
//! keeps its bytes alive however the cache changes. Dropping it unpins. The cache holds at most
//! `cap` bytes of file contents; when an insert would exceed it, least recently used unpinned
//! entries are evicted. Pinned entries are never evicted; if only pinned entries remain, the
//! cache may exceed `cap` by the bytes in flight (bounded by connections × file size). Files
//! larger than a quarter of the cache are not cached: they are streamed from disk.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

/// A cached file.
#[derive(Debug)]
pub struct File {
    pub body: Box<[u8]>,
    pub content_type: &'static str,
    /// Its `ETag` and `Last-Modified`, made when it was read.
    pub validators: Option<crate::http::Validators>,
}

impl Found {
    /// The file's `ETag` and `Last-Modified` (made now for a streamed one).
    pub fn validators(&self) -> Option<std::borrow::Cow<'_, crate::http::Validators>> {
        use std::borrow::Cow;
        match self {
            Found::Cached(f) => f.validators.as_ref().map(Cow::Borrowed),
            Found::Stream(f, len, _) => {
                let modified = f.metadata().and_then(|m| m.modified()).ok();
                crate::http::Validators::new(*len, modified).map(Cow::Owned)
            }
            Found::Directory => None,
        }
    }
}

/// What a target resolves to.
#[derive(Debug)]
pub enum Found {
    /// A cached (pinned) file.
    Cached(Rc<File>),
    /// A file too large to cache: stream it.
    Stream(fs::File, u64, &'static str),
    /// The target names a directory without its trailing slash (`/sub`): redirect to it with
    /// one (`/sub/`), so that the page's relative links resolve inside it.
    Directory,
}

/// Decodes `%XX` escapes; `None` if an escape is malformed.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let hi = hex(*b.get(i + 1)?)?;
            let lo = hex(*b.get(i + 2)?)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The relative path a target names, or `None` if it may not be served (the property tests and
/// the fuzz target check it; the cache uses [`relative_key`]).
#[cfg(any(test, fuzzing))]
pub fn relative(target: &str) -> Option<PathBuf> {
    relative_key(path_part(target)).map(|k| PathBuf::from(k.into_owned()))
}

/// The path of a request target: what comes before its query (`?`) or fragment (`#`).
fn path_part(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or("")
}

/// Panics unless the short way to a plain target's key ([`plain_key`]) gives the key the long
/// way ([`normalised_key`]) gives (the property tests and the fuzz target check it).
#[cfg(any(test, fuzzing))]
pub fn check_plain_key(target: &str) {
    let path = path_part(target);
    if let Some(key) = path.starts_with('/').then(|| plain_key(path)).flatten() {
        assert_eq!(
            Some(key),
            normalised_key(path).as_deref(),
            "{target:?}: the plain key differs"
        );
    }
}

/// [`relative`] as the cache keys it, from the target's [`path_part`]: its segments joined
/// with `/` (`""` for the root). A string hashes in a fraction of the time a `Path` does (which
/// hashes its components). A plain path (the usual case: see [`plain_key`]) is its own key,
/// borrowed from the target.
fn relative_key(path: &str) -> Option<Cow<'_, str>> {
    if !path.starts_with('/') {
        return None;
    }
    if let Some(key) = plain_key(path) {
        return Some(Cow::Borrowed(key));
    }
    normalised_key(path).map(Cow::Owned)
}

/// The key of `path` (which starts with `/`) without decoding or normalising it, when there is
/// nothing to decode or normalise: no `%`, no `\` or NUL, no empty segment but a last one
/// (`//`), and no segment that starts with `.` (`.`, `..`, and names like `.x`, left to
/// [`normalised_key`]). It is then `path` without its first `/` and a last one.
fn plain_key(path: &str) -> Option<&str> {
    let b = path.as_bytes();
    let plain = b.iter().all(|&c| !matches!(c, b'%' | b'\\' | 0))
        && !b
            .windows(2)
            .any(|w| w[0] == b'/' && matches!(w[1], b'/' | b'.'));
    if !plain {
        return None;
    }
    let rel = &path[1..];
    Some(rel.strip_suffix('/').unwrap_or(rel))
}

/// [`relative_key`] the long way: percent-decoded, then `.` and `..` resolved.
fn normalised_key(path: &str) -> Option<String> {
    let decoded = String::from_utf8(percent_decode(path)?).ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    // RFC 3986 §5.2.4: `.` is dropped and `..` removes the segment before it; at the root
    // there is nothing to remove, so a path never climbs above the root (`/../a` is `/a`).
    let mut rel = String::with_capacity(decoded.len());
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => rel.truncate(rel.rfind('/').unwrap_or(0)),
            s => {
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(s);
            }
        }
    }
    Some(rel)
}

/// Whether `rel` is the root itself (`/` has no slash to add).
fn rel_is_root(rel: &str) -> bool {
    rel.is_empty()
}

/// The cache's hasher: FxHash (a rotate, a xor and a multiply per 8 bytes), a tenth of what
/// the standard library's SipHash costs on a short path. SipHash is keyed to resist a client
/// that picks keys which collide; here the keys in the map are the files under the root, which
/// the server's owner picks. A client's target is only hashed for a lookup: it can collide
/// with at most the files there are.
#[derive(Default, Clone, Copy)]
struct BuildKeyHasher;

impl std::hash::BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

struct KeyHasher(u64);

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(b.into()); // `str`'s hash ends with 0xff, so `a` and `a\0` differ
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

struct Entry {
    file: Rc<File>,
    /// The canonical file, stat'ed on a hit (at most once per [`REVALIDATE`]) to notice
    /// changes on disk.
    path: PathBuf,
    /// Whether the key names a directory (and `file` is its index.html).
    dir: bool,
    tick: u64,
    modified: Option<SystemTime>,
    /// Until when the entry is served without comparing it with the file on disk again (the
    /// last comparison plus [`REVALIDATE`]): one comparison of instants per hit.
    fresh_until: Instant,
}

/// How long a cached file is served without looking at the disk again: a file changed on disk
/// is served fresh within this time. (A `stat` per hit would cost a system call and a path
/// walk per request.)
pub const REVALIDATE: Duration = Duration::from_secs(1);

/// The pinned file cache.
pub struct Cache {
    root: PathBuf,
    cap: usize,
    bytes: usize,
    tick: u64,
    map: HashMap<String, Entry, BuildKeyHasher>,
    lru: BTreeMap<u64, String>,
    /// Files that left the cache while a response still pinned them (counted in `held`).
    retired: Vec<std::rc::Weak<File>>,
    /// [`REVALIDATE`], or less in tests.
    revalidate: Duration,
}

impl Cache {
    /// A cache of at most `cap` bytes over the files under `root`.
    pub fn new(root: &Path, cap: usize) -> io::Result<Cache> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory (give the directory to serve)",
            ));
        }
        Ok(Cache {
            root,
            cap,
            bytes: 0,
            tick: 0,
            map: HashMap::default(),
            lru: BTreeMap::new(),
            retired: Vec::new(),
            revalidate: REVALIDATE,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Tests: every entry, and every one cached from now on, is compared with the disk at its
    /// next hit (as if [`REVALIDATE`] were zero and had passed).
    #[cfg(test)]
    fn revalidate_now(&mut self) {
        self.revalidate = Duration::ZERO;
        let now = tame::now();
        for e in self.map.values_mut() {
            e.fresh_until = now;
        }
    }

    /// Bytes of file contents currently cached.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Resolves `target` and pins its file; `None` means 404. A file that exists but could
    /// not be read (out of file descriptors, say) is also `None` here: see [`Cache::lookup`].
    #[cfg(test)]
    pub fn pin(&mut self, target: &str) -> Option<Found> {
        self.lookup(target).ok().flatten()
    }

    /// Resolves `target` and pins its file: `Ok(None)` when there is no such file under the
    /// root (404), `Err` when it exists but could not be opened or read (EMFILE, EIO: the
    /// server's trouble, not the client's).
    pub fn lookup(&mut self, target: &str) -> io::Result<Option<Found>> {
        match self.lookup_inner(target) {
            None => Ok(None),
            Some(Ok(found)) => Ok(Some(found)),
            Some(Err(e)) => Err(e),
        }
    }

    fn lookup_inner(&mut self, target: &str) -> Option<io::Result<Found>> {
        let path = path_part(target);
        let rel = relative_key(path)?;
        // `/file.txt/` names a directory that does not exist.
        let want_dir = path.ends_with('/');
        if let Some(e) = self.map.get_mut(&*rel) {
            if want_dir && !e.dir {
                return None;
            }
            if e.dir && !want_dir && !rel_is_root(&rel) {
                return Some(Ok(Found::Directory));
            }
            // Revalidate cheaply, and at most once per `revalidate`: a file changed on disk
            // is reloaded.
            let now = tame::now();
            let recent = now < e.fresh_until;
            let unchanged = recent || {
                let meta = fs::metadata(&e.path).ok();
                let fresh = meta.as_ref().and_then(|m| m.modified().ok());
                let same_len = meta.is_some_and(|m| m.len() == e.file.body.len() as u64);
                e.fresh_until = now + self.revalidate;
                fresh.is_some() && fresh == e.modified && same_len
            };
            if unchanged {
                // The key moves to its new place in the LRU order, unless it is there already
                // (it was the last one used).
                if e.tick != self.tick {
                    let key = self.lru.remove(&e.tick).unwrap_or_else(|| rel.into_owned());
                    self.tick += 1;
                    e.tick = self.tick;
                    self.lru.insert(e.tick, key);
                }
                return Some(Ok(Found::Cached(e.file.clone())));
            }
            self.evict(&rel);
        }
        let (path, meta, dir) = self.resolve(Path::new(&*rel))?;
        if want_dir && !dir {
            return None;
        }
        if dir && !want_dir && !rel_is_root(&rel) {
            return Some(Ok(Found::Directory));
        }
        let ctype = crate::http::content_type(&path.to_string_lossy());
        let len = meta.len();
        // Everything held for file bodies (cached, or pinned by a response after it left the
        // cache) stays within the bound: a file too large for a quarter of it, or one that
        // does not fit once the unpinned entries are evicted, is streamed instead.
        let stream = len as usize > self.cap / 4 || {
            self.make_room(len as usize);
            self.held() + len as usize > self.cap
        };
        if stream {
            return Some(fs::File::open(&path).map(|f| Found::Stream(f, len, ctype)));
        }
        let body = match fs::read(&path) {
            Ok(b) => b.into_boxed_slice(),
            Err(e) => return Some(Err(e)),
        };
        let file = Rc::new(File {
            body,
            content_type: ctype,
            validators: crate::http::Validators::new(len, meta.modified().ok()),
        });
        self.bytes += file.body.len();
        let rel = rel.into_owned();
        self.tick += 1;
        let tick = self.tick;
        self.lru.insert(tick, rel.clone());
        self.map.insert(
            rel,
            Entry {
                file: file.clone(),
                path,
                dir,
                tick,
                modified: meta.modified().ok(),
                fresh_until: tame::now() + self.revalidate,
            },
        );
        Some(Ok(Found::Cached(file)))
    }

    /// The canonical file for `rel`, if it is a regular file under the root, and whether
    /// `rel` named a directory (whose index.html this is).
    fn resolve(&self, rel: &Path) -> Option<(PathBuf, fs::Metadata, bool)> {
        let mut path = self.root.join(rel).canonicalize().ok()?;
        if !path.starts_with(&self.root) {
            return None; // a symlink led out of the root
        }
        let mut meta = fs::metadata(&path).ok()?;
        let dir = meta.is_dir();
        if dir {
            path = path.join("index.html").canonicalize().ok()?;
            if !path.starts_with(&self.root) {
                return None;
            }
            meta = fs::metadata(&path).ok()?;
        }
        meta.is_file().then_some((path, meta, dir))
    }

    fn evict(&mut self, rel: &str) {
        if let Some(e) = self.map.remove(rel) {
            self.lru.remove(&e.tick);
            self.bytes -= e.file.body.len();
            if Rc::strong_count(&e.file) > 1 {
                // Still pinned by a response being written: it counts until that ends.
                self.retired.push(Rc::downgrade(&e.file));
            }
        }
    }

    /// Bytes held for file bodies: the cache's, and those of files that left it but are still
    /// pinned by a response.
    pub fn held(&mut self) -> usize {
        self.retired.retain(|w| w.strong_count() > 0);
        self.bytes
            + self
                .retired
                .iter()
                .filter_map(std::rc::Weak::upgrade)
                .map(|f| f.body.len())
                .sum::<usize>()
    }

    /// Evicts unpinned entries, least recently used first, until `need` more bytes fit.
    fn make_room(&mut self, need: usize) {
        if self.bytes + need <= self.cap {
            return;
        }
        let victims: Vec<String> = self
            .lru
            .values()
            .filter(|rel| {
                self.map
                    .get(*rel)
                    .is_some_and(|e| Rc::strong_count(&e.file) == 1)
            })
            .scan(self.bytes + need, |over, rel| {
                if *over <= self.cap {
                    return None;
                }
                *over -= self.map[rel].file.body.len();
                Some(rel.clone())
            })
            .collect();
        for rel in victims {
            self.evict(&rel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test site's directory, removed when the test ends (passed or failed).
    struct Site(PathBuf);

    impl std::ops::Deref for Site {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn site() -> (Site, Cache) {
        let dir = Site(std::env::temp_dir().join(format!(
            "knot-cache-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )));
        let _ = fs::remove_dir_all(&dir.0);
        fs::create_dir_all(dir.join("root/sub")).unwrap();
        fs::write(dir.join("root/index.html"), "home").unwrap();
        fs::write(dir.join("root/sub/a.txt"), "aaaa").unwrap();
        fs::write(dir.join("root/b.txt"), "bbbb").unwrap();
        fs::write(dir.join("root/c.txt"), "cccc").unwrap();
        fs::write(dir.join("secret"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("root/out")).unwrap();
        std::os::unix::fs::symlink(dir.join("root/b.txt"), dir.join("root/in")).unwrap();
        let c = Cache::new(&dir.join("root"), 40).unwrap();
        (dir, c)
    }

    fn body(f: Option<Found>) -> Option<String> {
        match f? {
            Found::Cached(f) => Some(String::from_utf8(f.body.to_vec()).unwrap()),
            Found::Stream(..) => Some("<stream>".into()),
            Found::Directory => Some("<redirect>".into()),
        }
    }

    #[test]
    fn serves_files_and_directory_index() {
        let (_d, mut c) = site();
        assert_eq!(body(c.pin("/")).as_deref(), Some("home"));
        assert_eq!(body(c.pin("/sub/a.txt?x=1")).as_deref(), Some("aaaa"));
        assert_eq!(body(c.pin("/sub/%61.txt")).as_deref(), Some("aaaa"));
        assert_eq!(
            body(c.pin("/in")).as_deref(),
            Some("bbbb"),
            "symlink inside the root"
        );
        assert!(c.pin("/sub").is_none(), "directory without index.html");
        assert!(c.pin("/b.txt/").is_none(), "a file is not a directory");
        assert!(c.pin("/b.txt").is_some());
        assert!(
            c.pin("/b.txt/").is_none(),
            "a file is not a directory, cached either"
        );
        assert!(c.pin("/missing").is_none());
    }

    #[test]
    fn a_directory_named_without_its_slash_is_a_redirect() {
        let (d, mut c) = site();
        fs::create_dir_all(d.join("root/docs")).unwrap();
        fs::write(d.join("root/docs/index.html"), "docs").unwrap();
        assert!(matches!(c.pin("/docs"), Some(Found::Directory)));
        assert!(matches!(c.pin("/docs?x=1"), Some(Found::Directory)));
        assert_eq!(body(c.pin("/docs/")).as_deref(), Some("docs"));
        // Cached now: still a redirect without the slash.
        assert!(matches!(c.pin("/docs"), Some(Found::Directory)));
        assert_eq!(
            body(c.pin("/")).as_deref(),
            Some("home"),
            "the root is no redirect"
        );
    }

    #[test]
    fn what_responses_pin_stays_within_the_bound() {
        // A 40-byte cache, files of 8 bytes (under a quarter of it), every one kept pinned by
        // a response that is still being written: after the cache is full of pinned files,
        // the next ones are streamed, not read whole.
        let (d, mut c) = site();
        for i in 0..12 {
            fs::write(d.join(format!("root/f{i}.txt")), format!("file {i:03}")).unwrap();
        }
        let mut pinned = Vec::new();
        let mut streamed = 0;
        for i in 0..12 {
            match c.pin(&format!("/f{i}.txt")) {
                Some(Found::Stream(..)) => streamed += 1,
                Some(found) => pinned.push(found),
                None => panic!("/f{i}.txt"),
            }
            assert!(c.held() <= 40, "held {} bytes", c.held());
        }
        assert_eq!((pinned.len(), streamed), (5, 7));
        // A file that changes on disk while pinned: the old copy still counts.
        let before = c.held();
        fs::write(d.join("root/f0.txt"), "file 0!!").unwrap();
        c.revalidate_now();
        assert!(matches!(c.pin("/f0.txt"), Some(Found::Stream(..))));
        assert_eq!(
            c.held(),
            before,
            "the old copy is still pinned; the new one is streamed"
        );
        drop(pinned);
        assert!(
            matches!(c.pin("/f0.txt"), Some(Found::Cached(_))),
            "room again"
        );
    }

    #[test]
    fn never_outside_the_root() {
        let (_d, mut c) = site();
        for t in [
            "/../secret",
            "/sub/../../secret",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/sub/%2e%2e/%2e%2e/secret",
            "/out",
            "/..%5csecret",
            "/%00",
            "/%zz",
            "secret",
        ] {
            assert!(c.pin(t).is_none(), "{t} must not be served");
        }
    }

    #[test]
    fn pinned_entries_survive_eviction_and_unpinned_go_lru_first() {
        let (d, mut c) = site(); // each file is 4 bytes
        fs::write(d.join("root/d.txt"), "dddd").unwrap();
        fs::write(d.join("root/e.txt"), "eeee").unwrap();
        c.cap = 20; // five files; cap / 4 = 5, so every file is cached, not streamed
        let pinned = c.pin("/b.txt").unwrap();
        for t in ["/c.txt", "/sub/a.txt", "/index.html", "/d.txt"] {
            assert!(c.pin(t).is_some());
        }
        assert_eq!(c.bytes(), 20);
        assert!(c.pin("/e.txt").is_some()); // over the cap: one entry must go
        assert_eq!(c.bytes(), 20);
        assert!(
            c.map.contains_key("b.txt"),
            "pinned entry kept although oldest"
        );
        assert!(
            !c.map.contains_key("c.txt"),
            "least recently used unpinned entry evicted"
        );
        assert!(c.map.contains_key("sub/a.txt"));
        drop(pinned);
    }

    #[test]
    fn files_over_a_quarter_of_the_cache_are_streamed() {
        let (_d, mut c) = site();
        c.cap = 12; // cap / 4 = 3 < 4 bytes
        assert!(matches!(
            c.pin("/b.txt"),
            Some(Found::Stream(_, 4, "text/plain; charset=utf-8"))
        ));
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn a_file_changed_on_disk_is_reloaded_after_the_revalidation_interval() {
        let (d, mut c) = site();
        c.cap = 1024; // small files are cached, not streamed
        let Some(Found::Cached(old)) = c.pin("/b.txt") else {
            panic!("cached")
        };
        assert_eq!(&*old.body, b"bbbb");
        fs::write(d.join("root/b.txt"), "new contents").unwrap();
        // Within the interval the cached copy is served without a look at the disk.
        let Some(Found::Cached(same)) = c.pin("/b.txt") else {
            panic!("cached")
        };
        assert!(Rc::ptr_eq(&old, &same));
        c.revalidate_now(); // as if the interval had passed
        let Some(Found::Cached(new)) = c.pin("/b.txt") else {
            panic!("cached")
        };
        assert_eq!(&*new.body, b"new contents");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").unwrap(), b"a b");
        assert!(percent_decode("%4").is_none());
        assert!(percent_decode("%g0").is_none());
    }
}
