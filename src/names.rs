//! Enums named on the command line, each declared from one table of variants and names: the
//! help texts, the parser, its error message and the serde form all come from that table, so
//! they cannot disagree.

/// Declares `enum $Enum` from `Variant = "name"` pairs, with `ALL`, `name()`, `choices()` (for
/// help texts: `a, b or c`), `Display`, `FromStr` (an error `"$unknown 's' (expected a, b or c)"`)
/// and serde as the name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $Enum:ident: $unknown:literal {
            $( $(#[$vmeta:meta])* $Variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $Enum {
            $( $(#[$vmeta])* $Variant, )+
        }

        impl $Enum {
            /// Every variant, in command-line order.
            pub const ALL: &'static [$Enum] = &[$($Enum::$Variant),+];

            /// The command-line name.
            pub fn name(self) -> &'static str {
                match self {
                    $($Enum::$Variant => $name,)+
                }
            }

            /// The valid names for help texts and errors: `a, b or c`.
            pub fn choices() -> String {
                $crate::names::choices(Self::ALL.iter().map(|v| v.name()))
            }
        }

        impl std::fmt::Display for $Enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $Enum {
            type Err = $crate::error::Error;

            fn from_str(s: &str) -> $crate::error::Result<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    $crate::error::Error::Config(format!(
                        "{} '{}' (expected {})",
                        $unknown,
                        $crate::error::quote(s),
                        Self::choices()
                    ))
                })
            }
        }

        impl serde::Serialize for $Enum {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $Enum {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use named_enum;

/// `a, b or c` (`a` alone, `a or b`).
pub fn choices<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    named_enum! {
        enum Colour: "unknown colour" {
            Red = "red",
            DarkBlue = "dark-blue",
            Green = "green",
        }
    }

    #[test]
    fn one_table_gives_names_parsing_errors_and_serde() {
        assert_eq!(Colour::DarkBlue.to_string(), "dark-blue");
        assert_eq!("green".parse::<Colour>().unwrap(), Colour::Green);
        let error = "blue".parse::<Colour>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown colour 'blue' (expected red, dark-blue or green)"
        );
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
        let back: Colour = serde_json::from_str("\"dark-blue\"").unwrap();
        assert_eq!(back, Colour::DarkBlue);
        assert!(serde_json::from_str::<Colour>("\"pink\"").is_err());
    }
}
