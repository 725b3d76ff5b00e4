#!/usr/bin/env python3
# Usage: CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --target wasm32-unknown-unknown --bin burrow-js --no-default-features --features js
#        wasm-bindgen --target web --keep-debug --out-dir /tmp/wb target/wasm32-unknown-unknown/release/burrow-js.wasm
#        python3 tests/support/wasm_top.py /tmp/wb/burrow_js_bg.wasm 30
# Function sizes by name from a wasm with a name section (twiggy-like), grouped.
import sys, re, collections
def leb(b,i):
    r=s=0
    while True:
        x=b[i]; i+=1; r|=(x&0x7f)<<s; s+=7
        if x<0x80: return r,i
def parse(path):
    b=open(path,'rb').read(); i=8; imports=0; code=[]; names={}; data=0
    while i<len(b):
        sid=b[i]; i+=1; n,i=leb(b,i); end=i+n
        if sid==2:
            cnt,j=leb(b,i)
            for _ in range(cnt):
                l,j=leb(b,j); j+=l; l,j=leb(b,j); j+=l; kind=b[j]; j+=1
                if kind==0: imports+=1; _,j=leb(b,j)
                elif kind==1: j+=1; fl,j=leb(b,j); _,j=leb(b,j); 
                elif kind==2: fl,j=leb(b,j); _,j=leb(b,j); 
                elif kind==3: j+=2
        elif sid==10:
            cnt,j=leb(b,i)
            for _ in range(cnt):
                sz,j=leb(b,j); code.append(sz); j+=sz
        elif sid==11: data=n
        elif sid==0:
            l,j=leb(b,i); nm=b[j:j+l].decode(); j+=l
            if nm=='name':
                while j<end:
                    sub=b[j]; j+=1; sl,j=leb(b,j); se=j+sl
                    if sub==1:
                        cnt,k=leb(b,j)
                        for _ in range(cnt):
                            idx,k=leb(b,k); l,k=leb(b,k); names[idx]=b[k:k+l].decode('utf8','replace'); k+=l
                    j=se
        i=end
    return {names.get(imports+k,'?%d'%k):sz for k,sz in enumerate(code)}, data
def group(name):
    m=re.search(r'burrow::([a-z_]+::[a-z_]+)',name)
    if m: return 'burrow::'+m.group(1)
    for key in ['core::fmt','alloc::collections::btree','hashbrown','std::collections::hash','serde_json','js_sys','wasm_bindgen','core::slice::sort','dlmalloc','alloc::']:
        if key in name: return key
    m=re.match(r'([a-z_0-9]+)::',name)
    return m.group(1) if m else 'other'
fns,data=parse(sys.argv[1])
g=collections.Counter()
for n,s in fns.items(): g[group(n)]+=s
print('data',data,'code',sum(fns.values()))
for k,v in g.most_common(int(sys.argv[2]) if len(sys.argv)>2 else 30): print(f'{v:8} {k}')
