// SPDX-License-Identifier: BSD-2-Clause
// A minimal intrusive doubly-linked list: O(1) insert and unlink without
// allocation, for the per-worker lists of connections (all, handshaking
// oldest-first, ready to run).
#pragma once

#include <cstddef>

namespace sealpipe::tunnel {

struct ListHook {
    ListHook *prev = nullptr;
    ListHook *next = nullptr;
    bool linked() const noexcept { return prev != nullptr; }
};

// ${T} holds a ListHook member named by ${Member}.
template <typename T, ListHook T::*Member> class IntrusiveList {
public:
    IntrusiveList() noexcept { head_.prev = head_.next = &head_; }
    IntrusiveList(const IntrusiveList &) = delete;
    IntrusiveList &operator=(const IntrusiveList &) = delete;

    bool empty() const noexcept { return head_.next == &head_; }
    size_t size() const noexcept { return size_; }

    void push_back(T *t) noexcept {
        ListHook *h = &(t->*Member);
        if (h->linked())
            return;
        h->prev = head_.prev;
        h->next = &head_;
        head_.prev->next = h;
        head_.prev = h;
        ++size_;
    }
    void remove(T *t) noexcept {
        ListHook *h = &(t->*Member);
        if (!h->linked())
            return;
        h->prev->next = h->next;
        h->next->prev = h->prev;
        h->prev = h->next = nullptr;
        --size_;
    }
    T *front() const noexcept { return empty() ? nullptr : from_hook(head_.next); }
    T *pop_front() noexcept {
        T *t = front();
        if (t != nullptr)
            remove(t);
        return t;
    }
    // Call ${fn} on every element; ${fn} may remove the element it is given.
    template <typename Fn> void for_each(Fn fn) {
        ListHook *h = head_.next;
        while (h != &head_) {
            ListHook *next = h->next;
            fn(from_hook(h));
            h = next;
        }
    }

private:
    static T *from_hook(ListHook *h) noexcept {
        const auto off = reinterpret_cast<size_t>(&(static_cast<T *>(nullptr)->*Member));
        return reinterpret_cast<T *>(reinterpret_cast<char *>(h) - off);
    }
    ListHook head_;
    size_t size_ = 0;
};

} // namespace sealpipe::tunnel
