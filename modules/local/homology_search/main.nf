// One query chunk of the partitioner's all-vs-all homology search (MMseqs2): the chunk's
// proteins against all of them. PARTITION merges every chunk's pairs into one homolog graph.
process HOMOLOGY_SEARCH {
    tag "chunk ${chunk}/${chunks}"
    label 'process_high'

    input:
    tuple path(proteins), val(chunk), val(chunks)
    val threshold // identity (of the shorter sequence) above which two proteins are homologs

    output:
    path "pairs_${chunk}.parquet", emit: pairs
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('mmseqs2'), eval('locflow versions mmseqs2'), emit: versions_mmseqs2, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow homology-search ${proteins} --out pairs_${chunk}.parquet --chunk ${chunk}/${chunks} --threshold ${threshold} --threads ${task.cpus} ${args}
    """

    stub:
    """
    touch pairs_${chunk}.parquet
    """
}
