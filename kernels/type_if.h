// kernels/type_if.h — type_if<kOn, Of, Default>: `typename Of::type` when kOn, else Default, where
// Of::type is named only when kOn. For a kernel's optional register types: a gather's own type
// (G::b_raw_t, G::consts_t, …) where its flag says it has one — it may not define it otherwise —
// and a stand-in (float, an empty struct) where not. E.g. with `template <class G> struct raw_of {
// using type = typename G::b_raw_t; };`, `type_if<G::b_deferred, raw_of<G>, float>`.
#pragma once
#include <type_traits>

namespace senet::detail {

template <bool kOn, class Of, class Default>
using type_if = typename std::conditional_t<kOn, Of, std::type_identity<Default>>::type;

}  // namespace senet::detail
