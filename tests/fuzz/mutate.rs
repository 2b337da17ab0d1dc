//! Inputs for byte-level targets: valid seeds mutated the way fuzzers mutate (bit flips, byte
//! changes, inserted tokens that parsers of text formats treat specially, deletions,
//! truncations, repeated spans), the seeds untouched, and plain random bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::harness::Bytes;

/// Tokens that change how a text parser reads what follows: numbers at and past the limits of
/// their types, non-numbers, separators, quoting, YAML's and XML's syntax, path tricks.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"-0",
    b"1e308",
    b"1e999",
    b"-1e999",
    b"NaN",
    b".nan",
    b"inf",
    b".inf",
    b"4294967295",
    b"4294967296",
    b"18446744073709551616",
    b"99999999999999999999",
    b"0x7f",
    b"",
    b"\0",
    b"\xff\xfe",
    b"\xc3",
    b",",
    b";",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b"\"",
    b"'",
    b":",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"*a",
    b"&a ",
    b"!!binary ",
    b"!!float ",
    b"~",
    b"null",
    b"true",
    b"<",
    b">",
    b"/>",
    b"</",
    b"<!--",
    b"&amp;",
    b"&#0;",
    b"#",
    b"<![CDATA[",
    b"model://",
    b"file://",
    b"../",
    b"/",
    b"/dev/zero",
];

/// One change to a byte string; positions wrap round its length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Delete(usize, usize),
    Truncate(usize),
    Repeat(usize, usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), vec(any::<u8>(), 1..16)).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Token(at, t)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..64, 1u8..8).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ]
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = data.len();
        let pos = |at: usize| if len == 0 { 0 } else { at % len };
        match e {
            Edit::Flip(at, bit) if len > 0 => data[pos(*at)] ^= 1 << bit,
            Edit::Set(at, b) if len > 0 => data[pos(*at)] = *b,
            Edit::Insert(at, bytes) => {
                let p = if len == 0 { 0 } else { at % (len + 1) };
                data.splice(p..p, bytes.iter().copied());
            }
            Edit::Token(at, t) => {
                let p = if len == 0 { 0 } else { at % (len + 1) };
                data.splice(p..p, TOKENS[*t].iter().copied());
            }
            Edit::Delete(at, n) if len > 0 => {
                let p = pos(*at);
                data.drain(p..(p + n).min(len));
            }
            Edit::Truncate(at) => data.truncate(if len == 0 { 0 } else { at % len }),
            Edit::Repeat(at, n, k) if len > 0 => {
                let p = pos(*at);
                let span = data[p..(p + n).min(len)].to_vec();
                for _ in 0..*k {
                    data.splice(p..p, span.iter().copied());
                }
            }
            _ => {}
        }
    }
    data
}

/// Mostly mutated seeds (one to eight edits), sometimes a seed as it is, sometimes random
/// bytes up to `random_len` long.
pub fn inputs(seeds: Vec<Vec<u8>>, random_len: usize) -> impl Strategy<Value = Bytes> {
    assert!(!seeds.is_empty(), "a fuzz target needs a seed");
    prop_oneof![
        8 => (select(seeds.clone()), vec(edit(), 1..8))
            .prop_map(|(seed, edits)| Bytes(apply(seed, &edits))),
        1 => select(seeds).prop_map(Bytes),
        1 => vec(any::<u8>(), 0..random_len).prop_map(Bytes),
    ]
}

#[test]
fn edits_wrap_round_and_never_index_out_of_range() {
    let seed = b"x,y\n1,2\n".to_vec();
    let all = [
        Edit::Flip(usize::MAX, 7),
        Edit::Set(3, b'!'),
        Edit::Insert(usize::MAX, vec![1, 2]),
        Edit::Token(5, 0),
        Edit::Delete(6, 63),
        Edit::Repeat(0, 2, 3),
        Edit::Truncate(4),
    ];
    let out = apply(seed, &all);
    assert!(out.len() <= 4, "{out:?}");
    assert_eq!(apply(Vec::new(), &all), Vec::<u8>::new());
}
