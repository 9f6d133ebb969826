//! A bounded map that is fair between client addresses: what strangers can create without credentials
//! (login pages) goes here, so that one address can only ever displace its own records.
//!
//! Each record belongs to the address that created it ([`Owner`]). An address holds at most `quota`
//! records; a new one beyond that evicts its own oldest. When the whole map is at `cap`, the oldest record
//! of the address holding the most is evicted. So a flood from one address (or from a few) only ever costs
//! the flooding addresses their own unfinished records, and a visitor holding fewer records than the
//! biggest holder is never evicted. Only records whose loss costs a retry belong here: never a code, a token
//! or anything that guards a security property.

use std::{
    borrow::Borrow,
    collections::{HashMap, VecDeque},
    hash::Hash,
    net::IpAddr,
};

use super::Sweeper;

/// Whose record it is: the client address, with IPv6 grouped by /64 (one host usually holds a whole /64)
/// and IPv4-mapped IPv6 read as IPv4. `None` for requests that came without a socket (in-process calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner(Option<IpAddr>);

impl Owner {
    /// The owner of a request from `addr`.
    pub fn of(addr: Option<IpAddr>) -> Owner {
        Owner(addr.map(|a| match a {
            IpAddr::V4(_) => a,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
                }
            },
        }))
    }
}

/// One owner's records, oldest first. `order` may hold stale entries (records taken or swept since); they are
/// skipped when met and compacted away when they outnumber the live ones.
#[derive(Debug)]
struct Held<K> {
    /// Records of this owner in the map.
    live: usize,
    /// (insertion number, key), oldest first.
    order: VecDeque<(u64, K)>,
}

// By hand: a derive would ask for `K: Default`.
impl<K> Default for Held<K> {
    fn default() -> Self {
        Held {
            live: 0,
            order: VecDeque::new(),
        }
    }
}

/// The map itself; see the module docs. Callers hold it under their own lock.
#[derive(Debug)]
pub(crate) struct FairMap<K, V> {
    /// Key → (value, owner, insertion number). Boxed: a table sized for thousands of records then holds
    /// pointers, not the records (for login pages, a fifth of the table's memory).
    entries: HashMap<K, (Box<V>, Owner, u64)>,
    /// Owner → its records in insertion order.
    owners: HashMap<Owner, Held<K>>,
    /// The next insertion number.
    next: u64,
    /// Drops expired records without a background task.
    sweeper: Sweeper,
    /// The most records held.
    cap: usize,
    /// The most records one owner holds.
    quota: usize,
}

impl<K: Clone + Eq + Hash, V> FairMap<K, V> {
    /// An empty map of at most `cap` records, at most `quota` of them per owner (both at least 1).
    pub(crate) fn new(cap: usize, quota: usize) -> Self {
        FairMap {
            entries: HashMap::new(),
            owners: HashMap::new(),
            next: 0,
            sweeper: Sweeper::default(),
            cap: cap.max(1),
            quota: quota.max(1),
        }
    }

    /// Inserts `value` for `owner`, first dropping expired records (`alive` false) as the sweeper decides,
    /// then evicting as the module docs say. Never refuses.
    pub(crate) fn insert(
        &mut self,
        key: K,
        value: V,
        owner: Owner,
        now: u64,
        alive: impl Fn(&V) -> bool,
    ) {
        let before = self.entries.len();
        self.sweeper
            .make_room(&mut self.entries, self.cap, now, |(v, _, _)| alive(v));
        if self.entries.len() != before {
            self.recount();
        }
        if let Some((_, old_owner, _)) = self.entries.remove(&key) {
            self.forget(old_owner);
        }
        while self
            .owners
            .get(&owner)
            .is_some_and(|h| h.live >= self.quota)
        {
            self.evict_oldest(owner);
        }
        while self.entries.len() >= self.cap {
            let biggest = self
                .owners
                .iter()
                .max_by_key(|(_, h)| h.live)
                .map(|(o, _)| *o);
            match biggest {
                Some(o) => self.evict_oldest(o),
                None => break,
            }
        }
        let seq = self.next;
        self.next += 1;
        let held = self.owners.entry(owner).or_default();
        held.live += 1;
        held.order.push_back((seq, key.clone()));
        if held.order.len() > 2 * held.live + 32 {
            let entries = &self.entries;
            held.order
                .retain(|(s, k)| entries.get(k).is_some_and(|e| e.2 == *s));
        }
        self.entries.insert(key, (Box::new(value), owner, seq));
    }

    /// The value under `key`.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(v, _, _)| &**v)
    }

    /// Removes and returns the value under `key`.
    pub(crate) fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let (v, owner, _) = self.entries.remove(key)?;
        self.forget(owner);
        Some(*v)
    }

    /// Records held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// One record of `owner` has left the map.
    fn forget(&mut self, owner: Owner) {
        if let Some(held) = self.owners.get_mut(&owner) {
            held.live = held.live.saturating_sub(1);
            if held.live == 0 {
                self.owners.remove(&owner);
            }
        }
    }

    /// Evicts the oldest record `owner` still has.
    fn evict_oldest(&mut self, owner: Owner) {
        let Some(held) = self.owners.get_mut(&owner) else {
            return;
        };
        while let Some((seq, key)) = held.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.2 == seq) {
                self.entries.remove(&key);
                held.live = held.live.saturating_sub(1);
                break;
            }
        }
        if held.live == 0 || held.order.is_empty() {
            self.owners.remove(&owner);
        }
    }

    /// Rebuilds the per-owner bookkeeping after a sweep dropped records.
    fn recount(&mut self) {
        let entries = &self.entries;
        self.owners.retain(|_, held| {
            held.order
                .retain(|(s, k)| entries.get(k).is_some_and(|e| e.2 == *s));
            held.live = held.order.len();
            held.live > 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(last: u8) -> Owner {
        Owner::of(Some([127, 0, 0, last].into()))
    }

    #[test]
    fn a_flooding_address_evicts_only_its_own_oldest_records() {
        let mut map = FairMap::new(10, 4);
        map.insert(0u32, 1_000u64, at(2), 1, |&e| e > 1);
        for i in 1..1_000u32 {
            map.insert(i, 1_000, at(1), 1, |&e| e > 1);
        }
        assert!(map.get(&0).is_some(), "the other address keeps its record");
        assert_eq!(map.len(), 5, "one of 127.0.0.2, the quota of 127.0.0.1");
        assert!(map.get(&999).is_some() && map.get(&995).is_none());
    }

    #[test]
    fn a_full_map_evicts_from_the_biggest_holder() {
        let mut map = FairMap::new(6, 6);
        map.insert(100u32, 1_000u64, at(9), 1, |&e| e > 1);
        for i in 0..20u32 {
            // Many addresses, then one address with several records.
            map.insert(
                i,
                1_000,
                at(if i < 3 { 10 + i as u8 } else { 1 }),
                1,
                |&e| e > 1,
            );
        }
        assert_eq!(map.len(), 6);
        for kept in [100, 0, 1, 2, 19] {
            assert!(map.get(&kept).is_some(), "{kept}");
        }
    }

    #[test]
    fn taken_and_expired_records_leave_no_bookkeeping_behind() {
        let mut map = FairMap::new(100_000, 1_000);
        for i in 0..50_000u32 {
            map.insert(i, u64::from(i) + 1, at(1), u64::from(i), |&e| {
                e > u64::from(i)
            });
            map.remove(&i);
        }
        assert_eq!(map.len(), 0);
        assert!(map.owners.is_empty());
        for i in 0..5_000u32 {
            map.insert(i, 10, at((i % 200) as u8), 1, |&e| e > 1);
        }
        map.insert(9_999, 100, at(1), 20, |&e| e > 20);
        assert_eq!(map.len(), 1, "the rest expired and were swept");
        assert_eq!(map.owners.len(), 1);
        assert_eq!(map.owners[&at(1)].order.len(), 1);
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        let mapped: IpAddr = "::ffff:127.0.0.1"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(Owner::of(Some(a)), Owner::of(Some(b)));
        assert_eq!(Owner::of(Some(mapped)), at(1));
    }
}
