//! [`Typed`]: one key of a session as a value of the application's own type.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Session;
use crate::error::DataError;

/// A type kept in the session under a fixed key: what [`Typed`] needs to be an axum extractor
/// (`Typed<Preferences>` as a handler argument, feature `axum`).
///
/// ```
/// use sealed_session::session::SessionValue;
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Preferences { theme: String, #[serde(default)] language: Option<String> }
/// impl SessionValue for Preferences { const KEY: &'static str = "prefs"; }
/// ```
pub trait SessionValue: Serialize + DeserializeOwned + Default + Send + Sync + 'static {
    /// The session key.
    const KEY: &'static str;
}

/// One key of a [`Session`] read and written as a `T`: [`Session::typed`], or an axum
/// extractor for a [`SessionValue`].
///
/// A stored value that does not read as a `T` is a [`DataError::Decode`] from every method
/// that reads, and stays in the session until the handler replaces or removes it.
///
/// ```
/// use sealed_session::Session;
///
/// #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Cart { items: Vec<(u32, u16)> }
///
/// let session = Session::detached();
/// let cart = session.typed::<Cart>("cart");
/// assert_eq!(cart.get()?, None);
/// cart.update(|c| c.items.push((1001, 2)))?;
/// assert_eq!(cart.get_or_default()?.items, [(1001, 2)]);
/// assert!(cart.remove());
/// # Ok::<(), sealed_session::DataError>(())
/// ```
pub struct Typed<T> {
    session: Session,
    key: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        Typed {
            session: self.session.clone(),
            key: self.key.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("key", &self.key)
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// `key` of this session as a `T`.
    pub fn typed<T: Serialize + DeserializeOwned>(&self, key: impl Into<String>) -> Typed<T> {
        Typed {
            session: self.clone(),
            key: key.into(),
            _type: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Typed<T> {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The session it belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The value, if the key is set.
    ///
    /// # Errors
    /// [`DataError::Decode`] when the stored value does not read as a `T`.
    pub fn get(&self) -> Result<Option<T>, DataError> {
        self.session.get(&self.key)
    }

    /// The value, or `T::default()` when the key is not set.
    ///
    /// # Errors
    /// As [`get`](Self::get): a value that does not read is an error, never replaced by
    /// the default.
    pub fn get_or_default(&self) -> Result<T, DataError>
    where
        T: Default,
    {
        Ok(self.get()?.unwrap_or_default())
    }

    /// Stores `value`.
    ///
    /// # Errors
    /// [`DataError::Encode`] if the value cannot be encoded.
    pub fn set(&self, value: &T) -> Result<(), DataError> {
        self.session.insert(self.key.clone(), value)
    }

    /// Reads the value (or the default), applies `f`, stores the result and returns what `f`
    /// returned, as one step: the session stays locked from the read to the write, so an
    /// update from a clone of the session (another task of the same request) is never lost
    /// between them. `f` must therefore not use the session itself (that would deadlock);
    /// it gets the value and nothing else.
    ///
    /// When `f` changes nothing (the value encodes as it did before `f`), nothing is stored:
    /// the response sends no `Set-Cookie` for it, whatever the type (a `HashMap` read back
    /// and written unchanged would encode its entries in another order). What `f` returns is
    /// not looked at: a change made before returning an `Err` of its own is stored.
    ///
    /// # Errors
    /// As [`get`](Self::get) (then `f` does not run and nothing is stored) and
    /// [`set`](Self::set).
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, DataError>
    where
        T: Default,
    {
        self.session.loaded().data.update(&self.key, f)
    }

    /// Removes the key; returns whether it was there.
    pub fn remove(&self) -> bool {
        self.session.remove(&self.key)
    }
}
